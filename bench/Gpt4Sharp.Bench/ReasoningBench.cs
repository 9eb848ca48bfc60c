using System.Diagnostics;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Bench;

/// <summary>
/// The reasoning recipe end to end (<see cref="ReasoningDemo"/>): train a small reasoner on the
/// recipe's family, compare prompt formats on held-out 3+ step problems, self-consistency against greedy,
/// one label-free self-improvement round; then the cost of m = 16 paths in one batch against 16
/// separate decodes. Usage: reasoning [full|quick] [outDir], or reasoning sampling MODEL_DIR for the batching ratio alone. "quick" is the reduced scale that fits
/// a loaded 2-core machine (same numbers as `gpt4sharp reason demo` with the flags README's Reasoning section gives).
/// </summary>
public static class ReasoningBench
{
    public static int Run(string[] args)
    {
        if (args.Length > 1 && args[0] == "sampling")
        {
            BatchedVersusSeparate(args[1], maxTokens: 80);
            return 0;
        }
        var quick = args.Length > 0 && args[0] == "quick";
        var outDir = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), $"g4s-reasoning-{(quick ? "quick" : "full")}");
        var d = new ReasoningDemoSettings();
        var settings = quick ? Quick(d, outDir) : d with { OutDirectory = outDir };
        var clock = Stopwatch.StartNew();
        var result = ReasoningDemo.Run(settings, new LineObserver(Console.WriteLine, everySeconds: 30));
        Console.WriteLine($"\n{result.Parameters:N0} parameters; {result.Formats[0].Items} held-out {settings.Recipe.Family} problems of {settings.EvalMinSteps}+ steps; {clock.Elapsed.TotalMinutes:F1} min in all");
        foreach (var f in result.Formats) Console.WriteLine($"  {f.Format,-14} greedy {f.GreedyAccuracy:P1}");
        foreach (var (m, acc) in result.SelfConsistency.VotedAccuracyBySamples) Console.WriteLine($"  zero-shot-cot majority of {m,2}: {acc:P1}");
        foreach (var r in result.SelfImprove.Rounds) Console.WriteLine($"  self-improvement round {r.Round}: greedy CoT {r.GreedyAccuracy:P1} ({r.Confident}/{r.Questions} confident, {r.Examples} examples)");
        BatchedVersusSeparate(Path.Combine(result.OutDirectory, "sft"), settings.MaxNewTokens);
        return 0;
    }

    static ReasoningDemoSettings Quick(ReasoningDemoSettings d, string outDir) => d with
    {
        OutDirectory = outDir, EvalItems = 12, Samples = 16, MaxNewTokens = 80,
        Recipe = d.Recipe with
        {
            VocabSize = 512, CorpusDocuments = 4000, SftExamples = 2000,
            Model = d.Recipe.Model with { DModel = 64, Layers = 2, Heads = 2, KvHeads = 2 },
            Pretrain = d.Recipe.Pretrain with { Steps = 120, BatchSize = 8, EvalEvery = 60 },
            Sft = d.Recipe.Sft with { Steps = 60, BatchSize = 8, EvalEvery = 30 },
        },
        SelfImprove = d.SelfImprove with
        {
            Questions = 16, Sampling = d.SelfImprove.Sampling with { Samples = 8 },
            FineTune = d.SelfImprove.FineTune with { Steps = 20, BatchSize = 8 },
        },
    };

    /// <summary>
    /// m paths as rows of one batch (what self-consistency uses) against m one-row decodes, every
    /// path forced to the same length (no stop token) so both sides generate the same tokens.
    /// </summary>
    static void BatchedVersusSeparate(string model, int maxTokens)
    {
        using var bundle = ModelBundle.Load(model);
        var messages = ReasoningPrompts.Messages(PromptFormat.ZeroShotCot, "Ana has 12 apples. Then Ana gets 5 more apples. Then the number of apples doubles. How many apples does Ana have now?");
        var prompt = ChatTemplate.Encode(bundle.Tokenizer, messages, addGenerationPrompt: true).Ids;
        var options = new SamplingOptions { MaxNewTokens = maxTokens, Temperature = 0.7, Seed = 1 };
        ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, prompt, 2, options); // warm-up
        const int m = 16;
        var sw = Stopwatch.StartNew();
        var batch = ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, prompt, m, options);
        var batched = sw.Elapsed.TotalSeconds;
        sw.Restart();
        int separateTokens = 0;
        for (int i = 0; i < m; i++) separateTokens += ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, prompt, 1, options with { Seed = 100 + i })[0].Tokens.Length;
        var separate = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"\nm = {m} paths of {maxTokens} tokens: one batch {batched:F2} s ({batch.Sum(b => b.Tokens.Length)} tokens), {m} separate decodes {separate:F2} s ({separateTokens} tokens) -> batched is {separate / batched:F1}x faster");
    }
}
