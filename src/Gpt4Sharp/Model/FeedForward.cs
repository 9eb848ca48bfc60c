using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>A decoder layer's MLP; the architecture picks which one (<see cref="Create"/>).</summary>
public abstract class FeedForward(string name) : nn.Module<Tensor, Tensor>(name)
{
    /// <summary>The projection back into the residual stream (initialised smaller, as GPT-2 does).</summary>
    internal abstract Linear OutputProjection { get; }

    /// <summary>Llama's SwiGLU, or GPT-2's GELU MLP.</summary>
    public static FeedForward Create(GptConfig config) => config.Architecture switch
    {
        ModelArchitecture.Gpt2 => new GeluMlp(config),
        _ => new SwiGlu(config),
    };
}
