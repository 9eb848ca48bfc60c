using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>Causal multi-head (optionally grouped-query) self-attention with RoPE, computed by libtorch's fused SDPA.</summary>
public sealed class CausalSelfAttention : nn.Module
{
    // Field names are Hugging Face Llama's so state_dict names match theirs.
#pragma warning disable IDE1006
    readonly Linear q_proj, k_proj, v_proj, o_proj;
#pragma warning restore IDE1006
    readonly int heads, kvHeads, headDim;

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        heads = config.Heads;
        kvHeads = config.KvHeads;
        headDim = config.HeadDim;
        q_proj = nn.Linear(config.DModel, heads * headDim, hasBias: false);
        k_proj = nn.Linear(config.DModel, kvHeads * headDim, hasBias: false);
        v_proj = nn.Linear(config.DModel, kvHeads * headDim, hasBias: false);
        o_proj = nn.Linear(heads * headDim, config.DModel, hasBias: false);
        RegisterComponents();
    }

    internal Linear OutputProjection => o_proj;

    /// <summary>
    /// x: [B, T, d]. With a cache, the new keys/values are stored at positions
    /// cache.Length.. and attention covers everything stored so far.
    /// </summary>
    public Tensor Forward(Tensor x, Rotary rotary, KvCache? cache, int layer)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = rotary.Apply(q_proj.forward(x).view(b, t, heads, headDim).transpose(1, 2));
        var k = rotary.Apply(k_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2));
        var v = v_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);

        int past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(layer, k, v);
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }

        Tensor y;
        if (past == 0)
            y = F.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        else if (t == 1)
            y = F.scaled_dot_product_attention(q, k, v); // one new query sees every stored position
        else
            // SDPA's is_causal aligns the mask top-left; new tokens after a cached prefix need it bottom-right.
            y = F.scaled_dot_product_attention(q, k, v, attn_mask: CausalMaskAfter(past, t, x.device));

        return o_proj.forward(y.transpose(1, 2).reshape(b, t, heads * headDim)).MoveToOuterDisposeScope();
    }

    /// <summary>Boolean [t, past+t] mask: query i (at position past+i) sees keys 0..past+i.</summary>
    static Tensor CausalMaskAfter(int past, long t, Device device) =>
        torch.ones(t, past + t, dtype: ScalarType.Bool, device: device).tril(past);
}
