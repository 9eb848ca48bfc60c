using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>GPT-2's feed-forward block: c_proj(gelu_tanh(c_fc(x))), both layers with bias.</summary>
public sealed class GeluMlp : FeedForward
{
#pragma warning disable IDE1006 // GPT-2's names (stored as Linear [out, in], not its Conv1D [in, out])
    readonly Linear c_fc, c_proj;
#pragma warning restore IDE1006

    public GeluMlp(GptConfig config) : base(nameof(GeluMlp))
    {
        c_fc = nn.Linear(config.DModel, config.FfnWidth);
        c_proj = nn.Linear(config.FfnWidth, config.DModel);
        RegisterComponents();
    }

    internal override Linear OutputProjection => c_proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        // GPT-2 uses the tanh approximation of GELU (Hugging Face's "gelu_new").
        return c_proj.forward(F.gelu(c_fc.forward(x), GELU.Approximate.tanh, false)).MoveToOuterDisposeScope();
    }
}
