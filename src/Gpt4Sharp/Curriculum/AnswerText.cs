using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Gpt4Sharp.Curriculum;

/// <summary>
/// Parsing shared by the checkers. A final answer is a line "answer: X" (any case; also
/// the Chinese "答案：X"); a reply with no such line, or with two lines that disagree, is wrong.
/// </summary>
public static partial class AnswerText
{
    [GeneratedRegex(@"^\s*(?:\*\*)?(?:final\s+)?(?:answer|答案)(?:\*\*)?\s*[:：](?:\*\*)?\s*(?<v>.*?)\s*$", RegexOptions.IgnoreCase | RegexOptions.Multiline)]
    private static partial Regex AnswerLine();

    [GeneratedRegex(@"-?\d[\d,]*(?:\.\d+)?")]
    private static partial Regex NumberToken();

    public const string NoAnswerLine = "no 'answer:' line";

    /// <summary>The values of every answer line, in order.</summary>
    public static IReadOnlyList<string> AnswerLines(string reply) =>
        AnswerLine().Matches(reply).Select(m => m.Groups["v"].Value).ToList();

    /// <summary>
    /// The single final answer, or the reason there is none: missing line, or lines that
    /// disagree once normalised.
    /// </summary>
    public static (string? Value, string? Problem) Final(string reply)
    {
        var lines = AnswerLines(reply);
        if (lines.Count == 0) return (null, NoAnswerLine);
        var distinct = lines.Select(Normalize).Distinct().ToList();
        if (distinct.Count > 1) return (null, "answer lines disagree");
        if (distinct[0].Length == 0) return (null, "empty answer line");
        return (lines[^1], null);
    }

    /// <summary>
    /// Checks an "answer: N" reply against an integer. Accepts "answer: 1,200", a trailing
    /// full stop, "1200.0" and one trailing unit word from <paramref name="units"/>;
    /// rejects a missing line, a non-number, several numbers and a wrong number.
    /// </summary>
    public static CheckResult CheckInteger(string reply, long expected, params string[] units)
    {
        var (value, problem) = Final(reply);
        if (value is null) return CheckResult.Wrong(problem!);
        var numbers = NumberToken().Matches(value);
        if (numbers.Count == 0) return CheckResult.Wrong($"answer '{value}' is not a number");
        if (numbers.Count > 1) return CheckResult.Wrong($"answer '{value}' has more than one number");
        var rest = (value[..numbers[0].Index] + value[(numbers[0].Index + numbers[0].Length)..]).Trim().TrimEnd('.', '。').Trim();
        if (rest.Length > 0 && !units.Contains(rest, StringComparer.OrdinalIgnoreCase))
            return CheckResult.Wrong($"answer '{value}' has extra text '{rest}'");
        var token = numbers[0].Value;
        if (token.Contains(',') && !ThousandsGrouped().IsMatch(token))
            return CheckResult.Wrong($"answer '{value}' is not a well-formed number");
        if (!decimal.TryParse(token.Replace(",", ""), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var got))
            return CheckResult.Wrong($"answer '{value}' is not a number");
        return got == expected
            ? CheckResult.Right()
            : CheckResult.Wrong($"expected {expected}, got {got.ToString(CultureInfo.InvariantCulture)}");
    }

    [GeneratedRegex(@"^-?\d{1,3}(?:,\d{3})*(?:\.\d+)?$")]
    private static partial Regex ThousandsGrouped();

    /// <summary>Lower case, trimmed, inner whitespace collapsed, trailing punctuation and quotes removed.</summary>
    public static string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.Trim().ToLowerInvariant())
        {
            if (char.IsWhiteSpace(c)) { space = true; continue; }
            if (space && sb.Length > 0) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString().Trim('.', '。', '!', '！', '"', '\'', '“', '”', ' ');
    }

    public static bool IsCjk(char c) => c is >= '\u4e00' and <= '\u9fff';

    public static int CountCjk(string text) => text.Count(IsCjk);

    public static int CountLatinLetters(string text) => text.Count(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z');
}
