using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Gpt4Sharp.Text;

/// <summary>
/// <see cref="ITokenizer"/> over a Microsoft.ML.Tokenizers tokenizer (our byte-level
/// <see cref="BpeTokenizer"/> or a <see cref="TiktokenTokenizer"/>), which does all encoding
/// and decoding. What the package lacks is added here:
/// <list type="bullet">
/// <item>Encoding with special tokens switched off: the package always turns special-token
/// strings into their ids, so for text that contains one we split it with the plain
/// pre-tokenizer regex (no special tokens) and encode each piece without pre-tokenization.</item>
/// <item>Lone UTF-16 surrogates are replaced by U+FFFD before encoding (the package would
/// encode them as invalid UTF-8 that cannot decode back), so Decode(Encode(s)) == s for every
/// valid string and equals s with each lone surrogate replaced by U+FFFD otherwise.</item>
/// <item>Raw token bytes, which Decode cannot give for tokens that split a UTF-8 character.</item>
/// </list>
/// </summary>
internal sealed class LibraryTokenizer(
    string name,
    Tokenizer library,
    Regex plainPreTokenizer,
    IReadOnlyDictionary<string, int> specialTokens,
    Func<int, byte[]?> tokenBytes,
    int vocabSize) : ITokenizer
{
    readonly Dictionary<int, string> specialById = specialTokens.ToDictionary(kv => kv.Value, kv => kv.Key);

    public string Name => name;
    public int VocabSize => vocabSize;

    /// <summary>The package tokenizer, for callers that need its richer API (offsets, counting).</summary>
    public Tokenizer Library => library;

    public int[] Encode(string text, bool allowSpecial = false)
    {
        text = ReplaceLoneSurrogates(text);
        return allowSpecial || !ContainsSpecialToken(text) ? [.. library.EncodeToIds(text)] : EncodeOrdinary(text);
    }

    /// <summary>Encodes special-token strings as plain text (tiktoken's encode_ordinary).</summary>
    internal int[] EncodeOrdinary(string text)
    {
        var ids = new List<int>(text.Length / 3);
        foreach (Match piece in plainPreTokenizer.Matches(text))
            ids.AddRange(library.EncodeToIds(piece.ValueSpan, considerPreTokenization: false));
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids) => library.Decode(ids);

    public byte[] TokenBytes(int id)
    {
        if (specialById.TryGetValue(id, out var special)) return Encoding.UTF8.GetBytes(special);
        return tokenBytes(id) ?? throw new ArgumentOutOfRangeException(nameof(id), id, $"{name} has no token with this id.");
    }

    public int? SpecialTokenId(string token) => specialTokens.TryGetValue(token, out var id) ? id : null;

    bool ContainsSpecialToken(string text)
    {
        if (!text.Contains('<')) return false;
        foreach (var special in specialTokens.Keys)
            if (text.Contains(special, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>Replaces each unpaired UTF-16 surrogate by U+FFFD; returns the same string when there is none.</summary>
    public static string ReplaceLoneSurrogates(string text)
    {
        int first = FirstLoneSurrogate(text);
        if (first < 0) return text;
        var chars = text.ToCharArray();
        for (int i = first; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
            else if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    static int FirstLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else return i;
        }
        return -1;
    }
}
