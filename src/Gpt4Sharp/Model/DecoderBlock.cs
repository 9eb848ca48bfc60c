using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Model;

/// <summary>One pre-norm decoder layer: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class DecoderBlock : nn.Module
{
#pragma warning disable IDE1006 // Hugging Face Llama names
    readonly nn.Module<Tensor, Tensor> input_layernorm, post_attention_layernorm;
    readonly CausalSelfAttention self_attn;
    readonly FeedForward mlp;
#pragma warning restore IDE1006

    public DecoderBlock(GptConfig config) : base(nameof(DecoderBlock))
    {
        input_layernorm = Norm.Create(config);
        self_attn = new CausalSelfAttention(config);
        post_attention_layernorm = Norm.Create(config);
        mlp = FeedForward.Create(config);
        RegisterComponents();
    }

    internal IEnumerable<nn.Module> ResidualOutputs => [self_attn.OutputProjection, mlp.OutputProjection];

    public Tensor Forward(Tensor x, Rotary? rotary, KvCache? cache, int layer) =>
        Residual(x, normed => self_attn.Forward(normed, rotary, cache, layer));

    /// <summary>The layer on one segment with Transformer-XL memory.</summary>
    public Tensor Forward(Tensor x, Rotary? rotary, SegmentMemory memory, int layer) =>
        Residual(x, normed => self_attn.Forward(normed, rotary, memory, layer));

    Tensor Residual(Tensor x, Func<Tensor, Tensor> attention)
    {
        using var scope = torch.NewDisposeScope();
        var h = x + attention(input_layernorm.forward(x));
        return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }
}
