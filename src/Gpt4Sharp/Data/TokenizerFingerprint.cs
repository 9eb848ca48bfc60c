using System.Buffers.Binary;
using System.Security.Cryptography;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Data;

/// <summary>
/// A short identity for a tokenizer's behaviour: SHA-256 over its vocabulary size, the ids it
/// gives a fixed probe text and the ids of every special token. Two tokenizers with the same
/// fingerprint split the probe identically, so shards made with one are safe to train with the other.
/// </summary>
public static class TokenizerFingerprint
{
    /// <summary>Mixes prose, code, digits, whitespace runs, non-Latin scripts and emoji so that merges of every kind show up.</summary>
    const string Probe =
        "The quick brown fox jumps over the lazy dog. 0123456789 3.14159 -42\n" +
        "def add(a, b):\n    return a + b  # sum\n\n\tif x >= 10: print(\"hi\")\r\n" +
        "Grüße, ça va? Привет мир. 你好，世界。こんにちは 🙂🚀 naïve café 'quoted' \"double\"";

    /// <summary>The 32-byte digest.</summary>
    public static byte[] Compute(ITokenizer tokenizer)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var word = new byte[4];
        void Add(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(word, value);
            sha.AppendData(word);
        }
        Add(tokenizer.VocabSize);
        var ids = tokenizer.Encode(Probe);
        Add(ids.Length);
        foreach (var id in ids) Add(id);
        foreach (var special in SpecialTokens.All) Add(tokenizer.SpecialTokenId(special) ?? -1);
        return sha.GetHashAndReset();
    }

    /// <summary>The digest as lower-case hex, the form stored in meta.json.</summary>
    public static string ComputeHex(ITokenizer tokenizer) => Convert.ToHexStringLower(Compute(tokenizer));
}
