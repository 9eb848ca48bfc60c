using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Vision;

/// <summary>
/// A pre-norm Transformer encoder block (LayerNorm → attention → residual, LayerNorm → GELU
/// MLP → residual) as in ViT and CLIP. Bidirectional for image patches, causal for CLIP's
/// text encoder. The decoder's RmsNorm/SwiGLU block is not reused because it carries RoPE and
/// a KV cache that encoders do not need, while ViT/CLIP use learned absolute positions.
/// </summary>
public sealed class EncoderBlock : nn.Module
{
    readonly LayerNorm norm1, norm2;
    readonly Linear qkv, proj, fc1, fc2;
    readonly int heads;

    public EncoderBlock(int width, int heads, int mlpRatio = 4) : base(nameof(EncoderBlock))
    {
        this.heads = heads;
        norm1 = nn.LayerNorm(width);
        qkv = nn.Linear(width, 3 * width);
        proj = nn.Linear(width, width);
        norm2 = nn.LayerNorm(width);
        fc1 = nn.Linear(width, mlpRatio * width);
        fc2 = nn.Linear(mlpRatio * width, width);
        RegisterComponents();
    }

    /// <summary>Output projections, initialised smaller as residual branches.</summary>
    public IEnumerable<Linear> ResidualOutputs => [proj, fc2];

    /// <summary>x [B, T, d] → [B, T, d].</summary>
    public Tensor Forward(Tensor x, bool causal)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var parts = qkv.forward(norm1.forward(x)).view(b, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        var attended = F.scaled_dot_product_attention(parts[0], parts[1], parts[2], is_casual: causal);
        x = x + proj.forward(attended.transpose(1, 2).reshape(b, t, d));
        x = x + fc2.forward(F.gelu(fc1.forward(norm2.forward(x))));
        return x.MoveToOuterDisposeScope();
    }
}
