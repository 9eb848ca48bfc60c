using System.Text;

namespace Gpt4Sharp.Text;

/// <summary>
/// GPT-2's byte-to-character table: every byte gets one printable character, so byte-level
/// tokens can be written as strings in vocab.json and merges.txt. Printable Latin-1 bytes map
/// to themselves; the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD) map to U+0100 onwards
/// in byte order (space becomes 'Ġ'). Written here because Microsoft.ML.Tokenizers applies the
/// table internally but does not expose it, and the trainer must write files in that form.
/// </summary>
public static class ByteLevel
{
    static readonly char[] ByteToChar = BuildTable();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    /// <summary>The vocab.json spelling of a token's bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes) sb.Append(ByteToChar[b]);
        return sb.ToString();
    }

    /// <summary>The bytes behind a vocab.json spelling; null when a character is outside the table.</summary>
    public static byte[]? Decode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out bytes[i])) return null;
        }
        return bytes;
    }
}
