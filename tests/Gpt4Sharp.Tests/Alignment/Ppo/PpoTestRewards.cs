using System.Text.Json.Nodes;
using Gpt4Sharp.Alignment;

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
