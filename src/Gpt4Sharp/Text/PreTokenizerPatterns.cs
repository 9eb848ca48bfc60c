using System.Text.Json.Nodes;
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

    /// <summary>
    /// The pattern a Hugging Face tokenizer.json <c>pre_tokenizer</c> applies, when it is one of
    /// these: ByteLevel with its regex on is GPT-2's; a Split is matched by its regex text
    /// (a Sequence is searched in order). Null for anything else.
    /// </summary>
    public static Regex? FromHuggingFace(JsonNode? preTokenizer) => preTokenizer?["type"]?.GetValue<string>() switch
    {
        "ByteLevel" => preTokenizer["use_regex"]?.GetValue<bool>() ?? true ? R50k : null,
        "Split" => new[] { R50k, Cl100k, O200k }.FirstOrDefault(r => r.ToString() == preTokenizer["pattern"]?["Regex"]?.GetValue<string>()),
        "Sequence" => preTokenizer["pretokenizers"]?.AsArray().Select(FromHuggingFace).FirstOrDefault(r => r is not null),
        _ => null,
    };

    /// <summary>The tokenizer.json <c>pre_tokenizer</c> that applies <paramref name="pattern"/> before byte-level BPE.</summary>
    public static JsonObject ToHuggingFace(Regex pattern) => pattern == R50k
        ? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }
        : new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern.ToString() }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };

    static Regex Build(string pattern) => new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
}
