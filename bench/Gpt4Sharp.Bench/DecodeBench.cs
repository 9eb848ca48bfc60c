using System.Diagnostics;
using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Batch-1 greedy decoding after a 512-token context: with the KV cache each new token costs
/// one position; without it every token re-runs the whole sequence. Prints both and the ratio.
/// </summary>
public static class DecodeBench
{
    public static int Run(string[] args)
    {
        int newTokens = args.Length > 0 ? int.Parse(args[0]) : 64;
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

        double cached = TokensPerSecond(newTokens, () =>
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
        Console.WriteLine($"  with KV cache:    {cached,8:F1} tokens/s");
        Console.WriteLine($"  without KV cache: {uncached,8:F1} tokens/s");
        Console.WriteLine($"  cached / uncached: {cached / uncached:F1}x");
    }

    static double TokensPerSecond(int tokens, Action decode)
    {
        decode(); // warm-up
        var sw = Stopwatch.StartNew();
        decode();
        return tokens / sw.Elapsed.TotalSeconds;
    }
}
