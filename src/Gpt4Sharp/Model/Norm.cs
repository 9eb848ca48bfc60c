using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>The architecture's normalisation layer.</summary>
public static class Norm
{
    /// <summary>Llama's RMSNorm, or GPT-2's LayerNorm with gain and bias (libtorch's own).</summary>
    public static nn.Module<Tensor, Tensor> Create(GptConfig config) => config.Architecture switch
    {
        ModelArchitecture.Gpt2 => nn.LayerNorm(config.DModel, config.NormEps),
        _ => new RmsNorm(config.DModel, config.NormEps),
    };
}
