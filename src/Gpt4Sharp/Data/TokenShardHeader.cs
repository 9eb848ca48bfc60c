using System.Buffers.Binary;
using System.Text;

namespace Gpt4Sharp.Data;

/// <summary>
/// The fixed-layout header at the start of every token shard (<c>train.bin</c>, <c>val.bin</c>);
/// all integers little-endian. Tokens follow at <see cref="DataOffset"/>, which is a multiple of 8
/// so a memory map can read them aligned. The layout table is in README's section "Data: token shards".
/// </summary>
public sealed record TokenShardHeader(
    int BytesPerToken,
    long TokenCount,
    long DocumentCount,
    int VocabSize,
    byte[] Fingerprint,
    string TokenizerName)
{
    public static ReadOnlySpan<byte> Magic => "G4STOKEN"u8;
    public const int FormatVersion = 1;
    /// <summary>Bytes before the tokenizer name.</summary>
    public const int FixedSize = 72;
    /// <summary>Longest tokenizer name kept in the header (meta.json keeps the full one).</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>2 (uint16) when every id fits, else 4 (uint32).</summary>
    public static int BytesPerTokenFor(int vocabSize) => vocabSize <= ushort.MaxValue + 1 ? 2 : 4;

    public string DType => BytesPerToken == 2 ? "uint16" : "uint32";

    byte[] NameBytes => TruncateUtf8(TokenizerName, MaxNameBytes);

    /// <summary>Where the tokens start: the header rounded up to 8 bytes.</summary>
    public long DataOffset => (FixedSize + NameBytes.Length + 7) / 8 * 8;

    public long ExpectedFileLength => DataOffset + TokenCount * BytesPerToken;

    public byte[] ToBytes()
    {
        var name = NameBytes;
        var bytes = new byte[DataOffset];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], BytesPerToken);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], TokenCount);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], DocumentCount);
        BinaryPrimitives.WriteInt32LittleEndian(span[32..], VocabSize);
        BinaryPrimitives.WriteInt32LittleEndian(span[36..], name.Length);
        Fingerprint.CopyTo(span[40..72]);
        name.CopyTo(span[FixedSize..]);
        return bytes;
    }

    /// <summary>Parses and checks a header; <paramref name="fileLength"/> must match what the header promises.</summary>
    public static TokenShardHeader Parse(Stream stream, long fileLength, string path)
    {
        string Bad(string why) => $"Token shard {path} {why}; run `gpt4sharp data prepare` again to rebuild it.";
        if (fileLength < FixedSize) throw new UserError(Bad($"is truncated ({fileLength} bytes, shorter than the {FixedSize}-byte header)"));
        var fixedPart = new byte[FixedSize];
        stream.ReadExactly(fixedPart);
        var span = fixedPart.AsSpan();
        if (!span[..8].SequenceEqual(Magic)) throw new UserError($"{path} is not a Gpt4Sharp token shard (its first bytes are not \"G4STOKEN\"); point to the train.bin/val.bin written by `gpt4sharp data prepare`.");
        var version = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
        if (version != FormatVersion) throw new UserError(Bad($"has format version {version} but this build reads version {FormatVersion}"));
        var width = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(span[16..]);
        var docs = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
        var vocab = BinaryPrimitives.ReadInt32LittleEndian(span[32..]);
        var nameLength = BinaryPrimitives.ReadInt32LittleEndian(span[36..]);
        if (width is not (2 or 4) || count < 0 || docs < 0 || vocab <= 0 || nameLength is < 0 or > MaxNameBytes)
            throw new UserError(Bad("has a damaged header (impossible token width, counts or name length)"));
        if (FixedSize + nameLength > fileLength) throw new UserError(Bad($"is truncated inside its header ({fileLength} bytes)"));
        var name = new byte[nameLength];
        stream.ReadExactly(name);
        var header = new TokenShardHeader(width, count, docs, vocab, span[40..72].ToArray(), Encoding.UTF8.GetString(name));
        if (fileLength != header.ExpectedFileLength)
            throw new UserError(Bad($"is {fileLength} bytes but its header promises {header.ExpectedFileLength} ({count} tokens of {width} bytes){(fileLength < header.ExpectedFileLength ? ", so it is truncated" : "")}"));
        return header;
    }

    static byte[] TruncateUtf8(string text, int maxBytes)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length <= maxBytes) return bytes;
        var cut = maxBytes;
        while (cut > 0 && (bytes[cut] & 0xC0) == 0x80) cut--; // do not split a multi-byte character
        return bytes[..cut];
    }
}
