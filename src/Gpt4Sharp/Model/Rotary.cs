using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>
/// Rotary position embedding (Su et al. 2021) in Hugging Face Llama's half-split form: the
/// first and second halves of each head form the rotated pairs. The angles for a run of
/// positions are computed per forward pass (a few thousand numbers), so nothing depends
/// on a stored table or its device, and any position offset (KV cache, recurrence) works.
/// </summary>
public sealed class Rotary : IDisposable
{
    readonly Tensor cos, sin; // [T, headDim]

    /// <summary>cos and sin of every position's angles [T, headDim] (the CPU decoder reads the same table).</summary>
    internal (Tensor Cos, Tensor Sin) Table => (cos, sin);

    public Rotary(int headDim, double theta, long start, long length, Device device, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var invFreq = 1.0 / torch.pow(theta, torch.arange(0, headDim, 2, dtype: ScalarType.Float32, device: device) / headDim);
        var positions = torch.arange(start, start + length, dtype: ScalarType.Float32, device: device);
        var angles = torch.outer(positions, invFreq);
        var full = torch.cat([angles, angles], dim: -1);
        cos = full.cos().to(dtype).MoveToOuterDisposeScope();
        sin = full.sin().to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Rotates <paramref name="x"/> of shape [B, heads, T, headDim] with this table's positions.</summary>
    public Tensor Apply(Tensor x) => Apply(x, 0);

    /// <summary>Rotates x [B, heads, T, headDim] with the table's positions offset.. offset+T (memory and segment share one table).</summary>
    public Tensor Apply(Tensor x, long offset)
    {
        using var scope = torch.NewDisposeScope();
        long half = x.shape[^1] / 2, t = x.shape[2];
        var rotated = torch.cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], dim: -1);
        return (x * cos.narrow(0, offset, t) + rotated * sin.narrow(0, offset, t)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        cos.Dispose();
        sin.Dispose();
    }
}
