using System.IO.MemoryMappedFiles;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Data;

/// <summary>
/// A read-only, memory-mapped token shard. Opening checks the header against the file size, so a
/// truncated or foreign file fails here with one sentence instead of later with garbage batches.
/// Reads are thread-safe (the view accessor is never mutated).
/// </summary>
public sealed class TokenShard : IDisposable
{
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;

    public string Path { get; }
    public TokenShardHeader Header { get; }
    public long Count => Header.TokenCount;

    TokenShard(string path, TokenShardHeader header, MemoryMappedFile? map, MemoryMappedViewAccessor? view)
    {
        Path = path;
        Header = header;
        _map = map;
        _view = view;
    }

    public static TokenShard Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UserError($"Token shard {full} does not exist; run `gpt4sharp data prepare` to create train.bin and val.bin.");
        TokenShardHeader header;
        using (var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read))
            header = TokenShardHeader.Parse(stream, stream.Length, full);
        if (header.TokenCount == 0) return new TokenShard(full, header, null, null); // an empty file cannot be mapped
        var map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(header.DataOffset, header.TokenCount * header.BytesPerToken, MemoryMappedFileAccess.Read);
            return new TokenShard(full, header, map, view);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Copies <paramref name="destination"/>.Length tokens starting at <paramref name="start"/>, widened to int64.</summary>
    public void Read(long start, Span<long> destination)
    {
        if (start < 0 || start + destination.Length > Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"tokens [{start}, {start + destination.Length}) lie outside the shard's {Count}");
        if (destination.Length == 0) return;
        if (Header.BytesPerToken == 2)
        {
            var raw = new ushort[destination.Length];
            _view!.ReadArray(start * 2, raw, 0, raw.Length);
            for (var i = 0; i < raw.Length; i++) destination[i] = raw[i];
        }
        else
        {
            var raw = new uint[destination.Length];
            _view!.ReadArray(start * 4, raw, 0, raw.Length);
            for (var i = 0; i < raw.Length; i++) destination[i] = raw[i];
        }
    }

    /// <summary>Tokens as int32 ids (for decoding and tests).</summary>
    public int[] ReadIds(long start, int count)
    {
        var wide = new long[count];
        Read(start, wide);
        return Array.ConvertAll(wide, t => (int)t);
    }

    /// <summary>Throws a <see cref="UserError"/> when the shard was made with a different tokenizer than <paramref name="tokenizer"/>.</summary>
    public void CheckTokenizer(ITokenizer tokenizer)
    {
        var fingerprint = TokenizerFingerprint.Compute(tokenizer);
        if (tokenizer.VocabSize == Header.VocabSize && fingerprint.AsSpan().SequenceEqual(Header.Fingerprint)) return;
        var why = tokenizer.VocabSize != Header.VocabSize ? "" : " (same vocabulary size, different token ids)";
        throw new UserError(
            $"The shards in {System.IO.Path.GetDirectoryName(Path)} were made with tokenizer {Header.TokenizerName} (vocab {Header.VocabSize}) " +
            $"but the model uses {tokenizer.Name} (vocab {tokenizer.VocabSize}){why}; run `gpt4sharp data prepare` again with --tokenizer {tokenizer.Name}.");
    }

    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
    }
}
