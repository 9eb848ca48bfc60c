using System.Text.Json.Nodes;
using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>A reward any reply can earn without a reward model: the share of its characters that are lowercase ASCII letters.</summary>
sealed class LowercaseReward : IRewardScorer
{
    public string Name => "lowercase";
    public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) =>
        pairs.Select(p => p.Response.Length == 0 ? 0.0 : p.Response.Count(char.IsAsciiLetterLower) / (double)p.Response.Length).ToList();
}

static class PpoRunFiles
{
    /// <summary>The per-step metrics a PPO run wrote to its results.json.</summary>
    public static JsonArray Steps(string outDir) => JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, Gpt4Sharp.Reporting.Results.FileName)))!["steps"]!.AsArray();
}

static class TinyPpoTrainer
{
    /// <summary>A trainer over a one-layer byte-level model and <see cref="LowercaseReward"/>, for tests of how prompts and batches are drawn.</summary>
    public static PpoTrainer Create(PpoSettings settings)
    {
        var config = new GptConfig { VocabSize = new ByteTokenizer().VocabSize, ContextLength = 512, DModel = 16, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 32 };
        return new PpoTrainer(new GptModel(config, seed: 1), new GptModel(config, seed: 1), new ByteTokenizer(), [new LowercaseReward()], settings);
    }
}
