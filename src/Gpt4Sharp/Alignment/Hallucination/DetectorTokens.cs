using System.Text.RegularExpressions;

namespace Gpt4Sharp.Alignment.Hallucination;

/// <summary>A word of a text with its character position.</summary>
public readonly record struct WordToken(string Text, int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>
/// Word-level input ids for the detector. Words are hashed into a fixed number of buckets (the
/// "hashing trick"), so the detector needs no vocabulary file and names it has never seen
/// still get stable ids; what it learns is whether an answer word is backed by the same word
/// at the right place in the reference, which does not depend on knowing the word. FNV-1a is
/// used because string.GetHashCode is randomised per process.
/// </summary>
public static partial class DetectorTokens
{
    public const int Pad = 0, Cls = 1, Sep = 2, Reserved = 3;

    public static IReadOnlyList<WordToken> Split(string text) =>
        Word().Matches(text).Select(m => new WordToken(m.Value, m.Index, m.Length)).ToList();

    public static int Id(string word, int buckets)
    {
        uint h = 2166136261;
        foreach (var c in word.ToLowerInvariant()) h = (h ^ c) * 16777619;
        return Reserved + (int)(h % (uint)buckets);
    }

    [GeneratedRegex(@"\p{IsCJKUnifiedIdeographs}|[\p{L}\p{N}-[\p{IsCJKUnifiedIdeographs}]]+|[^\s\p{L}\p{N}]")]
    private static partial Regex Word();
}
