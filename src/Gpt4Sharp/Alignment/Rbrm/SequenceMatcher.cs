using System.Text.RegularExpressions;

namespace Gpt4Sharp.Alignment.Rbrm;

/// <summary>
/// A small finite-state matcher over word tokens: state k means the first k steps have been
/// seen in order. A step is one or more alternatives separated by "|", each a word or phrase
/// (a trailing * makes the last word a prefix). If more than MaxGap tokens pass without the next
/// step, the machine falls back to the start, so "mix ... petrol" must occur close together.
/// </summary>
public sealed partial class SequenceMatcher
{
    public const int DefaultMaxGap = 12;

    readonly string[][][] _steps; // step -> alternative -> tokens
    readonly string[] _source;
    public int MaxGap { get; }

    public SequenceMatcher(IReadOnlyList<string> steps, int maxGap)
    {
        _source = [.. steps];
        _steps = steps.Select(step => step.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(AlternativeTokens).Where(tokens => tokens.Length > 0).ToArray()).ToArray();
        MaxGap = maxGap;
    }

    static string[] AlternativeTokens(string alternative)
    {
        var tokens = Tokenize(alternative.TrimEnd('*')).ToArray();
        if (alternative.EndsWith('*') && tokens.Length > 0) tokens[^1] += "*";
        return tokens;
    }

    public bool Matches(IReadOnlyList<string> tokens)
    {
        int state = 0, gap = 0;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (state > 0 && gap > MaxGap) { state = 0; gap = 0; }
            int length = MatchStep(_steps[state], tokens, i);
            if (length > 0)
            {
                state++;
                if (state == _steps.Length) return true;
                gap = 0;
                i += length - 1;
            }
            else if (state > 0 && MatchStep(_steps[0], tokens, i) is var restart and > 0)
            {
                // A fresh first step restarts the window rather than waiting out the gap.
                state = 1;
                gap = 0;
                i += restart - 1;
            }
            else if (state > 0) gap++;
        }
        return false;
    }

    static int MatchStep(string[][] alternatives, IReadOnlyList<string> tokens, int at)
    {
        foreach (var alt in alternatives)
        {
            if (at + alt.Length > tokens.Count) continue;
            bool ok = true;
            for (int k = 0; k < alt.Length && ok; k++)
                ok = alt[k].EndsWith('*') ? tokens[at + k].StartsWith(alt[k][..^1], StringComparison.Ordinal) : tokens[at + k] == alt[k];
            if (ok) return alt.Length;
        }
        return 0;
    }

    public override string ToString() => $"sequence [{string.Join(" … ", _source)}] within {MaxGap} words";

    /// <summary>Lower-case word tokens; each CJK character is its own token.</summary>
    public static IReadOnlyList<string> Tokenize(string text) =>
        Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToList();

    public static bool IsCjk(string text) => Cjk().IsMatch(text);

    [GeneratedRegex(@"\p{IsCJKUnifiedIdeographs}|[\p{L}\p{N}-[\p{IsCJKUnifiedIdeographs}]]+(?:['’.][\p{L}\p{N}-[\p{IsCJKUnifiedIdeographs}]]+)*")]
    private static partial Regex Word();

    [GeneratedRegex(@"\p{IsCJKUnifiedIdeographs}")]
    private static partial Regex Cjk();
}
