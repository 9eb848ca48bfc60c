using Gpt4Sharp.Bench;

// Benchmarks print ratios measured in one process; CI never runs them.
// Usage: dotnet run -c Release --project bench/Gpt4Sharp.Bench -- NAME [args]
var benchmarks = new Dictionary<string, (string About, Func<string[], int> Run)>
{
    ["matmul"] = ("fp32 and bf16 matmul peak of this machine", MatmulBench.Run),
    ["train"] = ("training tokens/s and MFU at d=256/L=4 and d=512/L=8, T=256", TrainingBench.Run),
    ["memory"] = ("live native tensors and resident memory over 2,000 training steps", MemoryBench.Run),
    ["decode"] = ("decoding tokens/s with and without the KV cache at 512 tokens of context", DecodeBench.Run),
    ["sparse"] = ("dense vs strided vs fixed sparse attention: fwd+bwd time, peak memory and fitted exponents, n = 1k..16k", SparseAttentionBench.Run),
    ["chat"] = ("50-turn chat: time to first token and decode time per turn, KV cache kept vs history re-encoded, 8K and 32K context", ChatTurnsBench.Run),
    ["memory-eval"] = ("[steps] [items]: dialogue fact recall across segments, the same recurrent model with and without Transformer-XL memory, vs chance", ChatTurnsMemoryEval.Run),
    ["bpe"] = ("byte-level BPE training speed: 8k vocab on ~10 MB of text", BpeTrainingBench.Run),
    ["curriculum"] = ("1M synthetic text items and 10k chart PNGs: items/s and seconds", CurriculumBench.Run),
    ["reasoning"] = ("reasoning recipe: prompt formats, self-consistency, one self-improvement round, batched vs separate paths (full|quick)", ReasoningBench.Run),
    ["safety-probe"] = ("model=DIR [n] [split]: a chat model's harmful compliance and over-refusal on safety requests of one split, topic x intent requests apart", SafetyProbeBench.Run),
    ["intent-ceiling"] = ("model=SFT_DIR [framing] [steps] | ppo=RUN: a harmful-vs-benign classifier on the model, fitted on PPO's safety practice prompts (frozen-trunk probe and fine-tuned), or the intent head of a ppo --intent-aux run: benign flagged at 100/99/95/90 % harmful recall, held out", IntentCeilingBench.Run),
    ["rm-facts"] = ("model=SFT_DIR [rm=DIR] [pairs]: closed-book reward-model pairs per attribute: the fact in the pretraining/fine-tuning data, the model's likelihood in question and profile form, the reward model's accuracy", RewardFactsBench.Run),
    ["ppo"] = ("alignment end to end: pretrain, SFT, reward model, PPO; harmful compliance, over-refusal, hallucination before and after", PpoBench.Run),
    ["sandbox"] = ("sandboxed Python samples/s, 1 vs 2 workers, bubblewrap vs plain", SandboxThroughput.Run),
    ["decode-llamacpp"] = ("[tokens] [threads]: batch-1 greedy decode tokens/s, Gpt4Sharp vs llama.cpp (LLamaSharp) on the same GGUF weights, ~3M and ~25M, fp32/F32 and int8/Q8_0", LlamaCppDecodeBench.Run),
    ["serve"] = ("[requests] [width] [layers] [torch-threads]: 1/4/16/64 concurrent streaming chat clients on the in-process server (tokens/s, TTFT and per-token p50/p99, errors), then resident memory over 5,000 requests", ServingLoadBench.Run),
    ["scalar-race"] = ("[seconds]: TorchSharp Scalars freed mid-call by their finalizer, failures and collections with the default and the 256 MB gen-0 budget", ScalarRaceBench.Run),
    ["scaling-workers"] = ("[workers]: a small scaling sweep trained sequentially and with 2 (or N) workers in one process: wall times, speed-up, final losses compared", ScalingWorkersBench.Run),
    ["clip"] = ("CLIP training images/s and zero-shot images/s at 32 and 48 px, one thread and default", ClipBench.Run),
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var bench))
{
    Console.WriteLine("Benchmarks:");
    foreach (var (name, (about, _)) in benchmarks) Console.WriteLine($"  {name,-14} {about}");
    return args.Length == 0 ? 0 : 2;
}
try
{
    return bench.Run(args[1..]);
}
catch (Gpt4Sharp.UserError e)
{
    // Bad input (a missing model=DIR, a directory without a checkpoint) is one sentence, as in the CLI.
    Console.Error.WriteLine(e.Message);
    return 1;
}
