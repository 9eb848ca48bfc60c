using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>
/// Transformer-XL's segment memory: per layer, the keys and values of the last
/// <see cref="Capacity"/> positions before the current segment, detached so no gradient flows
/// into earlier segments. Keys are stored before RoPE and rotated afresh each segment with
/// positions 0..m-1, the segment's queries sitting at m..: attention scores then depend only on
/// relative distance and positions never grow past memory + segment, however long the document.
/// Processing one token at a time with this memory is a sliding-window KV cache of length m.
/// </summary>
public sealed class SegmentMemory : IDisposable
{
    readonly Tensor?[] keys, values;

    public SegmentMemory(GptConfig config, int? capacity = null)
    {
        Capacity = capacity ?? config.MemoryLength;
        if (Capacity < 1) throw new UserError($"A segment memory needs at least one position (got {Capacity}); set the model's memory length.");
        keys = new Tensor?[config.Layers];
        values = new Tensor?[config.Layers];
    }

    public int Capacity { get; }

    /// <summary>Positions currently remembered (the same for every layer).</summary>
    public int Length => keys[0] is { } k ? (int)k.shape[2] : 0;

    /// <summary>Memory keys (un-rotated) and values of a layer, or null before the first segment.</summary>
    internal (Tensor Keys, Tensor Values)? Read(int layer) => keys[layer] is { } k ? (k, values[layer]!) : null;

    /// <summary>Keeps the last <see cref="Capacity"/> positions of memory + segment as the next memory, without gradient.</summary>
    internal void Write(int layer, Tensor allKeys, Tensor allValues)
    {
        long total = allKeys.shape[2], keep = Math.Min(total, Capacity);
        var k = allKeys.narrow(2, total - keep, keep).detach().clone().DetachFromDisposeScope();
        var v = allValues.narrow(2, total - keep, keep).detach().clone().DetachFromDisposeScope();
        keys[layer]?.Dispose();
        values[layer]?.Dispose();
        (keys[layer], values[layer]) = (k, v);
    }

    /// <summary>Forgets everything (a new document or conversation).</summary>
    public void Clear()
    {
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i]?.Dispose();
            values[i]?.Dispose();
            keys[i] = values[i] = null;
        }
    }

    public void Dispose() => Clear();
}
