using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>
/// Keys and values of every layer for the tokens seen so far, so decoding a new token costs
/// one position, not the whole prefix. Storage is allocated once at full capacity
/// ([batch, kvHeads, capacity, headDim] per layer) and filled in place: no per-step
/// concatenation. The cache owns its tensors (outside any dispose scope).
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys, values;

    public KvCache(GptConfig config, long batch, int capacity, Device device, ScalarType dtype)
    {
        Capacity = capacity;
        keys = new Tensor[config.Layers];
        values = new Tensor[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            keys[i] = torch.zeros([batch, config.KvHeads, capacity, config.HeadDim], dtype, device).DetachFromDisposeScope();
            values[i] = torch.zeros([batch, config.KvHeads, capacity, config.HeadDim], dtype, device).DetachFromDisposeScope();
        }
    }

    /// <summary>Positions already stored; the next token's position.</summary>
    public int Length { get; private set; }
    public int Capacity { get; }

    /// <summary>Writes a layer's new keys/values at the current position and returns views of all stored so far.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > Capacity)
            throw new UserError($"The KV cache holds {Capacity} positions but {Length + t} were needed; start a new sequence or use a larger context.");
        keys[layer].narrow(2, Length, t).copy_(k);
        values[layer].narrow(2, Length, t).copy_(v);
        return (keys[layer].narrow(2, 0, Length + t), values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>A layer's stored keys and values [batch, kvHeads, Length, headDim] (views; keys already rotated).</summary>
    internal (Tensor Keys, Tensor Values) Stored(int layer) => (keys[layer].narrow(2, 0, Length), values[layer].narrow(2, 0, Length));

    /// <summary>
    /// Stores one position of a layer from head-major rows [kvHeads·headDim] (keys already rotated):
    /// how the CPU decoder keeps a module cache in step with its own steps. CPU caches of batch 1 only;
    /// call <see cref="Advance"/> once every layer is written.
    /// </summary>
    internal void Write(int layer, int position, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int kvHeads = (int)keys[layer].shape[1], headDim = (int)keys[layer].shape[3];
        var keyData = MemoryMarshal.Cast<byte, float>(keys[layer].bytes);
        var valueData = MemoryMarshal.Cast<byte, float>(values[layer].bytes);
        for (int h = 0; h < kvHeads; h++)
        {
            int at = (h * Capacity + position) * headDim;
            k.Slice(h * headDim, headDim).CopyTo(keyData.Slice(at, headDim));
            v.Slice(h * headDim, headDim).CopyTo(valueData.Slice(at, headDim));
        }
    }

    /// <summary>Called by the model once all layers have appended <paramref name="tokens"/> positions.</summary>
    internal void Advance(int tokens) => Length += tokens;

    /// <summary>Forgets everything after the first <paramref name="length"/> positions (to reuse a shared prefix).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t.Dispose();
    }
}
