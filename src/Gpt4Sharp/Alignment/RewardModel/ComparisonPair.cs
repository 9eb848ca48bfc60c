using System.Text.Json;
using System.Text.Json.Serialization;
using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>
/// One human-style preference: for <see cref="Prompt"/>, <see cref="Chosen"/> is the better reply
/// and <see cref="Rejected"/> the worse. <see cref="Source"/> says where it came from (for the
/// per-source accuracy table); <see cref="Split"/> which side of the held-out wall it is on.
/// </summary>
public sealed record ComparisonPair(string Prompt, string Chosen, string Rejected, string Source, Split Split);

/// <summary>Reads comparison JSONL: one {"prompt": str, "chosen": str, "rejected": str} object per line (what the hallucination pipeline writes).</summary>
public static class ComparisonJsonl
{
    /// <summary>Share of file pairs held out for accuracy, picked by the hash of the prompt so a prompt's pairs stay together.</summary>
    public const double HeldOutFraction = 0.1;

    sealed record Line(
        [property: JsonPropertyName("prompt")] string? Prompt,
        [property: JsonPropertyName("chosen")] string? Chosen,
        [property: JsonPropertyName("rejected")] string? Rejected);

    public static IEnumerable<ComparisonPair> Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Comparison file '{path}' does not exist; pass JSONL with one {{\"prompt\", \"chosen\", \"rejected\"}} object per line.");
        var source = Path.GetFileNameWithoutExtension(path);
        int number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            Line? line;
            try { line = JsonSerializer.Deserialize<Line>(text); }
            catch (JsonException e) { throw new UserError($"{path}:{number} is not valid JSON ({e.Message}); write one comparison object per line.", e); }
            if (line?.Prompt is not { Length: > 0 } prompt || line.Chosen is not { Length: > 0 } chosen || line.Rejected is not { Length: > 0 } rejected)
                throw new UserError($"{path}:{number} needs non-empty \"prompt\", \"chosen\" and \"rejected\" strings.");
            if (chosen == rejected) throw new UserError($"{path}:{number} has the same text as chosen and rejected; a comparison needs two different replies.");
            yield return new ComparisonPair(prompt, chosen, rejected, source, SplitRule.SplitOf("comparisons", prompt, HeldOutFraction));
        }
    }
}
