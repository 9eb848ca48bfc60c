using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>
/// Root-mean-square layer norm (Zhang and Sennrich 2019), as Llama uses it. TorchSharp 0.107
/// ships no RMSNorm module, so it is written here; statistics are taken in fp32 even when
/// the model runs in bf16.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        weight = nn.Parameter(torch.ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        bool fp32 = x.dtype == ScalarType.Float32; // the common case needs no casts (each costs a native call)
        var x32 = fp32 ? x : x.to(ScalarType.Float32);
        var normed = x32 * x32.square().mean([-1L], keepdim: true).add_(eps).rsqrt_();
        return ((fp32 ? normed : normed.to(x.dtype)) * weight).MoveToOuterDisposeScope();
    }
}
