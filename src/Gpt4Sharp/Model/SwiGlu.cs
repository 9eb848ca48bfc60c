using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>The SwiGLU feed-forward block (Shazeer 2020): down(silu(gate(x)) * up(x)).</summary>
public sealed class SwiGlu : FeedForward
{
#pragma warning disable IDE1006 // Hugging Face Llama names
    readonly Linear gate_proj, up_proj, down_proj;
#pragma warning restore IDE1006

    public SwiGlu(GptConfig config) : base(nameof(SwiGlu))
    {
        gate_proj = nn.Linear(config.DModel, config.FfnWidth, hasBias: false);
        up_proj = nn.Linear(config.DModel, config.FfnWidth, hasBias: false);
        down_proj = nn.Linear(config.FfnWidth, config.DModel, hasBias: false);
        RegisterComponents();
    }

    internal override Linear OutputProjection => down_proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return down_proj.forward(F.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}
