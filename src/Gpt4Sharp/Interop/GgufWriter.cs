using System.Text;

namespace Gpt4Sharp.Interop;

/// <summary>ggml tensor storage types this writer produces (values from ggml.h).</summary>
public enum GgmlType : uint { F32 = 0, F16 = 1, Q8_0 = 8 }

/// <summary>
/// Writes a GGUF v3 file (the format llama.cpp and ollama load): header, key/value metadata,
/// tensor infos, then the tensor data, each tensor at a multiple of general.alignment bytes.
/// Written by hand because no maintained .NET GGUF writer exists (LLamaSharp only reads GGUF
/// through llama.cpp). Layout from ggml's docs/gguf.md; all integers little-endian.
/// </summary>
public sealed class GgufWriter
{
    public const uint Alignment = 32;

    enum ValueType : uint { UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12 }

    readonly List<(string Key, Action<BinaryWriter> Write)> metadata = [];
    readonly List<(string Name, ulong[] Dims, GgmlType Type, byte[] Data)> tensors = [];

    public GgufWriter() => Add("general.alignment", Alignment);

    public void Add(string key, string value) => metadata.Add((key, w => { w.Write((uint)ValueType.String); WriteString(w, value); }));
    public void Add(string key, uint value) => metadata.Add((key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); }));
    public void Add(string key, int value) => metadata.Add((key, w => { w.Write((uint)ValueType.Int32); w.Write(value); }));
    public void Add(string key, float value) => metadata.Add((key, w => { w.Write((uint)ValueType.Float32); w.Write(value); }));
    public void Add(string key, bool value) => metadata.Add((key, w => { w.Write((uint)ValueType.Bool); w.Write((byte)(value ? 1 : 0)); }));

    public void Add(string key, IReadOnlyList<string> values) => metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.String);
        w.Write((ulong)values.Count);
        foreach (var v in values) WriteString(w, v);
    }));

    public void Add(string key, IReadOnlyList<int> values) => metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    }));

    /// <summary>Adds a tensor; <paramref name="dims"/> are ggml's order (fastest-varying first, so a row-major [out, in] matrix is [in, out]).</summary>
    public void AddTensor(string name, ulong[] dims, GgmlType type, byte[] data) => tensors.Add((name, dims, type, data));

    public void Write(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, write) in metadata)
        {
            WriteString(w, key);
            write(w);
        }
        ulong offset = 0;
        foreach (var (name, dims, type, data) in tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims) w.Write(d);
            w.Write((uint)type);
            w.Write(offset);
            offset = AlignUp(offset + (ulong)data.Length);
        }
        Pad(w);
        long dataStart = stream.Position;
        foreach (var (_, _, _, data) in tensors)
        {
            w.Write(data);
            Pad(w, dataStart);
        }
    }

    static ulong AlignUp(ulong x) => (x + Alignment - 1) / Alignment * Alignment;

    static void Pad(BinaryWriter w, long origin = 0)
    {
        long position = w.BaseStream.Position - origin;
        long padding = (long)AlignUp((ulong)position) - position;
        for (long i = 0; i < padding; i++) w.Write((byte)0);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
