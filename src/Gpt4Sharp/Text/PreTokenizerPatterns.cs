using System.Text.RegularExpressions;

namespace Gpt4Sharp.Text;

/// <summary>
/// The regexes that split text into pre-tokens before BPE, as published in OpenAI's tiktoken
/// (openai_public.py), rewritten for .NET: its possessive quantifiers become plain greedy ones,
/// which match the same spans here because the optional/greedy part can never be given back
/// to a following match (checked against Microsoft.ML.Tokenizers' own encodings in the tests).
/// </summary>
public static class PreTokenizerPatterns
{
    /// <summary>GPT-2 / r50k_base: contractions, optional-space words, numbers and symbol runs.</summary>
    public static readonly Regex R50k = Build(
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");

    /// <summary>GPT-4 / cl100k_base: case-insensitive contractions, numbers in groups of at most 3, newlines kept apart.</summary>
    public static readonly Regex Cl100k = Build(
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+");

    /// <summary>GPT-4o / o200k_base: splits camel case and attaches contractions to words.</summary>
    public static readonly Regex O200k = Build(
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+");

    static Regex Build(string pattern) => new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
}
