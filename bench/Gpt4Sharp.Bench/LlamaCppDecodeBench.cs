using System.Diagnostics;
using Gpt4Sharp.Inference;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Model;
using Gpt4Sharp.Quantization;
using Gpt4Sharp.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Batch-1 greedy decoding, Gpt4Sharp (its CPU decoder, as TextGenerator uses it) against
/// llama.cpp (through LLamaSharp's CPU backend) on the same weights exported to GGUF: the same
/// 16-token prompt and the same number of new tokens, for a ~3M and a ~25M-parameter model,
/// fp32/F32 and int8/Q8_0. Both loops pick the argmax in C# from the logits each engine returns;
/// the module path (one GptModel.Forward per token) is printed for reference. Weights are random
/// (speed does not depend on them); the model vocabularies are padded past a small trained
/// tokenizer, which the GGUF export supports.
/// </summary>
public static class LlamaCppDecodeBench
{
    static readonly (string Name, GptConfig Config)[] Models =
    [
        ("~3M", new GptConfig { VocabSize = 4096, ContextLength = 512, DModel = 256, Layers = 3, Heads = 4, KvHeads = 4 }),
        ("~25M", new GptConfig { VocabSize = 8192, ContextLength = 512, DModel = 512, Layers = 6, Heads = 8, KvHeads = 8 }),
    ];

    public static int Run(string[] args)
    {
        int newTokens = args.Length > 0 ? int.Parse(args[0]) : 128;
        int threads = args.Length > 1 ? int.Parse(args[1]) : Environment.ProcessorCount;
        torch.set_num_threads(threads); // both engines get the same number of threads
        NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        var work = Path.Combine(Path.GetTempPath(), $"g4s-decode-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        var tokenizer = SmallTokenizer(work);
        var prompt = tokenizer.Encode("Quiet foxes predict lazy tokens; every brown dog returns a forest of numbers: 12345 67890.")[..16];
        Console.WriteLine($"batch 1, greedy, prompt {prompt.Length} tokens, {newTokens} new tokens, {threads} threads, torch threads {torch.get_num_threads()}");
        Console.WriteLine($"{"model",-6} {"params",8} {"weights",-12} {"Gpt4Sharp tok/s",16} {"llama.cpp tok/s",16} {"ours/llama.cpp",15} {"module path tok/s",18}");
        try
        {
            foreach (var (name, config) in Models)
            {
                using var model = new GptModel(config, seed: 1);
                model.eval();
                var f32 = Path.Combine(work, $"{name}-f32.gguf");
                var q8 = Path.Combine(work, $"{name}-q8_0.gguf");
                GgufExport.Export(model, tokenizer, f32, GgmlType.F32);
                GgufExport.Export(model, tokenizer, q8, GgmlType.Q8_0);

                var (oursFp32, theirsF32) = Compare(() => DecoderGreedy(new CpuDecoder(model, DecodeWeights.Fp32, threads), prompt, newTokens),
                    () => LlamaGreedy(f32, prompt, newTokens, threads), newTokens);
                Row(name, config, "fp32 / F32", oursFp32, theirsF32, Compare(() => ModuleGreedy(model, prompt, newTokens), () => 1, newTokens).Ours);

                Int8Quantization.ApplyInPlace(model); // the int8 checkpoint as it loads
                var (oursInt8, theirsQ8) = Compare(() => DecoderGreedy(new CpuDecoder(model, DecodeWeights.Int8, threads), prompt, newTokens),
                    () => LlamaGreedy(q8, prompt, newTokens, threads), newTokens);
                Row(name, config, "int8 / Q8_0", oursInt8, theirsQ8, null);
                Console.WriteLine($"{"",6} {"",8} llama.cpp Q8_0 / F32: {theirsQ8 / theirsF32:F2}x; Gpt4Sharp int8 / fp32: {oursInt8 / oursFp32:F2}x");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        Console.WriteLine("Each figure is the fastest of five timed runs after a warm-up, the two engines taking turns; on a shared machine expect noise of 10% or more.");
        return 0;
    }

    static void Row(string name, GptConfig config, string weights, double ours, double theirs, double? modules) =>
        Console.WriteLine($"{name,-6} {config.ParameterCount / 1e6,7:F1}M {weights,-12} {ours,16:F0} {theirs,16:F0} {ours / theirs,14:F2}x {(modules is { } m ? m.ToString("F0") : "-"),18}");

    static ITokenizer SmallTokenizer(string work)
    {
        string[] corpus =
        [
            "The quick brown fox jumps over the lazy dog, and then it runs away into the forest.\n",
            "A decoder-only transformer predicts the next token from every token before it.\n",
            "def add(a, b):\n    return a + b\n",
        ];
        var dir = Path.Combine(work, "tokenizer");
        BpeTrainer.Train(Enumerable.Repeat(corpus, 20).SelectMany(c => c), vocabSize: 400).Save(dir);
        return Tokenizers.Load(dir);
    }

    /// <summary>
    /// Tokens per second of two engines: one warm-up run each, then five timed runs each, taken in
    /// turns so that a change in machine load hits both; the fastest run of each counts. Each run
    /// reports its own decode seconds (loading excluded).
    /// </summary>
    static (double Ours, double Theirs) Compare(Func<double> ours, Func<double> theirs, int tokens)
    {
        ours();
        theirs();
        double bestOurs = 0, bestTheirs = 0;
        for (int run = 0; run < 5; run++)
        {
            bestOurs = Math.Max(bestOurs, tokens / ours());
            bestTheirs = Math.Max(bestTheirs, tokens / theirs());
        }
        return (bestOurs, bestTheirs);
    }

    /// <summary>What TextGenerator does per token for a dense CPU model: the prompt in one module pass, then one decoder step per token.</summary>
    static double DecoderGreedy(CpuDecoder decoder, int[] prompt, int count)
    {
        var sw = Stopwatch.StartNew();
        var sequence = decoder.NewSequence(prompt.Length + count);
        int next = TensorPrimitives.IndexOfMax(sequence.Prefill(prompt));
        for (int i = 1; i < count; i++) next = TensorPrimitives.IndexOfMax(sequence.Step(next));
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>The module path: one GptModel.Forward over the new token with the KV cache per token, argmax, one host read.</summary>
    static double ModuleGreedy(GptModel model, int[] prompt, int count)
    {
        using var inference = torch.inference_mode();
        using var cache = model.NewCache(capacity: prompt.Length + count);
        var sw = Stopwatch.StartNew();
        var output = new int[count];
        long[] input = [.. prompt.Select(t => (long)t)];
        for (int i = 0; i < count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.Forward(torch.tensor(input, dtype: ScalarType.Int64).unsqueeze(0), cache).select(1, -1);
            output[i] = (int)logits.argmax(-1).item<long>();
            input = [output[i]];
        }
        return sw.Elapsed.TotalSeconds;
    }

    static double LlamaGreedy(string path, int[] prompt, int count, int threads)
    {
        var parameters = new ModelParams(path) { ContextSize = (uint)(prompt.Length + count + 8), GpuLayerCount = 0, Threads = threads, BatchThreads = threads };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Length - 1);
        var output = new int[count];
        int position = prompt.Length;
        var sw = Stopwatch.StartNew();
        for (int n = 0; n < count; n++)
        {
            if (context.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama_decode failed");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int next = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[next]) next = v;
            output[n] = next;
            batch.Clear();
            batch.Add(next, position++, LLamaSeqId.Zero, logits: true);
        }
        return sw.Elapsed.TotalSeconds;
    }
}
