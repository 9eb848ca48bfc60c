using System.Buffers.Binary;
using System.Text.Json;

namespace Gpt4Sharp.Checkpoints;

/// <summary>One tensor listed in a safetensors header.</summary>
public sealed record TensorEntry(string Name, string DType, long[] Shape)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Reads only the JSON header of a safetensors file (8-byte little-endian length, then JSON), to
/// list names, dtypes and shapes without loading weights. TorchSharp.PyBridge reads and writes the
/// tensors themselves but does not expose its header parser publicly.
/// </summary>
public static class SafetensorsIndex
{
    public static IReadOnlyList<TensorEntry> Read(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        if (stream.Read(prefix) != 8) throw Bad(path, "is shorter than the 8-byte header length");
        var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length > (ulong)(stream.Length - 8) || length > int.MaxValue) throw Bad(path, $"declares a {length}-byte header in a {stream.Length}-byte file");
        var json = new byte[(int)length];
        stream.ReadExactly(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var entries = new List<TensorEntry>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                entries.Add(new TensorEntry(p.Name, p.Value.GetProperty("dtype").GetString()!,
                    [.. p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())]));
            }
            return entries;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw Bad(path, "has an unreadable JSON header");
        }
    }

    static UserError Bad(string path, string why) => new($"{path} {why}, so it is not a valid safetensors file; save the checkpoint again or use an earlier one.");
}
