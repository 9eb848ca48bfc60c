using System.Globalization;
using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Reasoning;

/// <summary>
/// Reads the final answer out of a model reply without knowing the right one, so votes can be
/// counted on unlabelled questions. Rules, per family:
/// <list type="bullet">
/// <item>every family: the value of the reply's "answer: X" line (the curriculum's
/// <see cref="AnswerText.Final"/>; lines that disagree count as no answer);</item>
/// <item>numeric families (arithmetic, digit-chains, digit-sums, rotated-chains, ten-chains): the first number in that value, written canonically
/// ("1,200." and "1200.0" both become "1200"); with no answer line, the last number in the
/// reply (the fallback Wang et al. use for free-form arithmetic reasoning);</item>
/// <item>other families: the normalised value (<see cref="AnswerText.Normalize"/>); no line, no answer.</item>
/// </list>
/// Scoring against a label is separate (<see cref="IsCorrect"/>) and uses the family's own checker.
/// </summary>
public static partial class AnswerExtraction
{
    static readonly HashSet<string> NumericFamilies = ["arithmetic", "digit-chains", "digit-sums", "rotated-chains", "ten-chains"];

    [GeneratedRegex(@"-?\d[\d,]*(?:\.\d+)?")]
    private static partial Regex Number();

    public static bool IsNumeric(string family) => NumericFamilies.Contains(family);

    /// <summary>The answer a reply commits to, as a vote key, or null when it gives none.</summary>
    public static string? Extract(string family, string reply)
    {
        var (value, _) = AnswerText.Final(reply);
        if (!IsNumeric(family)) return value is null ? null : AnswerText.Normalize(value) is { Length: > 0 } v ? v : null;
        if (value is not null && Number().Match(value) is { Success: true } first) return Canonical(first.Value);
        if (AnswerText.AnswerLines(reply).Count > 0) return null; // an answer line without a number is a non-answer, not a fallback case
        var all = Number().Matches(reply);
        return all.Count == 0 ? null : Canonical(all[^1].Value);
    }

    static string? Canonical(string token) =>
        decimal.TryParse(token.Replace(",", ""), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d)
            ? (d / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture) // drops trailing zeros: 12.50 -> 12.5
            : null;

    /// <summary>Whether an extracted answer is right for a labelled item, by the family's own checker.</summary>
    public static bool IsCorrect(CurriculumItem item, string? answer) =>
        answer is not null && CurriculumRegistry.Get(item.Family).Check(item, ReasoningPrompts.DirectReply(answer)).Correct;
}
