using System.Diagnostics;
using Gpt4Sharp.Inference;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Batch-1 greedy decoding after a 512-token context, three ways: the CPU decoder with its KV
/// cache (what TextGenerator uses for dense CPU models), the module path with its KV cache (one
/// GptModel.Forward per token), and no cache at all (every token re-runs the whole sequence).
/// Each timed run includes encoding the prompt. Prints tokens/s and the ratios.
/// </summary>
public static class DecodeBench
{
    public static int Run(string[] args)
    {
        int newTokens = args.Length > 0 ? int.Parse(args[0]) : 64;
        Console.WriteLine($"torch threads {torch.get_num_threads()}, decoder threads {Environment.ProcessorCount}");
        foreach (var (d, layers) in new[] { (256, 4), (512, 8) })
            Measure(new GptConfig { VocabSize = 8192, ContextLength = 1024, DModel = d, Layers = layers, Heads = d / 64, KvHeads = d / 64 }, 512, newTokens);
        return 0;
    }

    static void Measure(GptConfig config, int context, int newTokens)
    {
        using var model = new GptModel(config);
        model.eval();
        using var inference = torch.inference_mode();
        var prompt = torch.randint(0, config.VocabSize, [1, context], generator: new Generator(1));
        var promptIds = prompt[0].data<long>().Select(t => (int)t).ToArray();

        var decoder = new CpuDecoder(model);
        double cpuDecoder = TokensPerSecond(newTokens, () =>
        {
            var sequence = decoder.NewSequence(context + newTokens);
            int next = TensorPrimitives.IndexOfMax(sequence.Prefill(promptIds));
            for (int i = 0; i < newTokens; i++) next = TensorPrimitives.IndexOfMax(sequence.Step(next));
        });
        double modules = TokensPerSecond(newTokens, () =>
        {
            using var cache = model.NewCache();
            var next = model.Forward(prompt, cache).select(1, -1).argmax(-1, keepdim: true);
            for (int i = 0; i < newTokens; i++)
            {
                using var scope = torch.NewDisposeScope();
                next = model.Forward(next, cache).select(1, -1).argmax(-1, keepdim: true).MoveToOuterDisposeScope();
            }
        });
        double uncached = TokensPerSecond(newTokens, () =>
        {
            var sequence = prompt.clone();
            for (int i = 0; i < newTokens; i++)
            {
                using var scope = torch.NewDisposeScope();
                var next = model.Forward(sequence).select(1, -1).argmax(-1, keepdim: true);
                sequence = torch.cat([sequence, next], 1).MoveToOuterDisposeScope();
            }
        });
        Console.WriteLine($"model {config.ParameterCount / 1e6:F1}M params (d={config.DModel}, L={config.Layers}), context {context}, {newTokens} new tokens, batch 1");
        Console.WriteLine($"  KV cache, CPU decoder:  {cpuDecoder,8:F1} tokens/s   {cpuDecoder / uncached,5:F1}x uncached");
        Console.WriteLine($"  KV cache, module path:  {modules,8:F1} tokens/s   {modules / uncached,5:F1}x uncached");
        Console.WriteLine($"  no KV cache:            {uncached,8:F1} tokens/s");
    }

    static double TokensPerSecond(int tokens, Action decode)
    {
        decode(); // warm-up (and the JIT's second tier for the decoder's loops)
        decode();
        var sw = Stopwatch.StartNew();
        decode();
        return tokens / sw.Elapsed.TotalSeconds;
    }
}
