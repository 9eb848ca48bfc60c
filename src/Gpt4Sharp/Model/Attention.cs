using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>
/// Causal multi-head (optionally grouped-query) self-attention with RoPE (or, for GPT-2, no
/// rotation and biased projections: its positions are added to the input). Dense attention uses
/// libtorch's fused SDPA; the sparse kinds use <see cref="SparseAttention"/>'s gathered blocks
/// for a whole sequence and the pattern mask when decoding after a KV cache; a recurrent layer
/// also attends over a <see cref="SegmentMemory"/> of the previous segment.
/// </summary>
public sealed class CausalSelfAttention : nn.Module
{
    // Field names are Hugging Face Llama's so state_dict names match theirs.
#pragma warning disable IDE1006
    readonly Linear q_proj, k_proj, v_proj, o_proj;
#pragma warning restore IDE1006
    readonly int heads, kvHeads, headDim;
    readonly GptConfig config;

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        this.config = config;
        heads = config.Heads;
        kvHeads = config.KvHeads;
        headDim = config.HeadDim;
        q_proj = nn.Linear(config.DModel, heads * headDim, hasBias: config.Biases);
        k_proj = nn.Linear(config.DModel, kvHeads * headDim, hasBias: config.Biases);
        v_proj = nn.Linear(config.DModel, kvHeads * headDim, hasBias: config.Biases);
        o_proj = nn.Linear(heads * headDim, config.DModel, hasBias: config.Biases);
        RegisterComponents();
    }

    internal Linear OutputProjection => o_proj;

    /// <summary>
    /// x: [B, T, d]. With a cache, the new keys/values are stored at positions
    /// cache.Length.. and attention covers everything stored so far.
    /// </summary>
    public Tensor Forward(Tensor x, Rotary? rotary, KvCache? cache, int layer)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = Rotate(rotary, Project(q_proj, x, heads));
        var k = Rotate(rotary, Project(k_proj, x, kvHeads));
        var v = Project(v_proj, x, kvHeads);

        int past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(layer, k, v);
        (k, v) = (ShareHeads(k), ShareHeads(v));

        Tensor y;
        bool sparse = config.Attention is AttentionKind.SparseStrided or AttentionKind.SparseFixed;
        if (sparse && past == 0 && t > 1)
            y = SparseAttention.Compute(config.Attention, q, k, v, config.SparseBlockLength, config.SparseSummary);
        else if (sparse)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask: SparseAttention.PatternMask(config.Attention, past, t, past + t, config.SparseBlockLength, config.SparseSummary, x.device));
        else if (past == 0)
            y = F.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        else if (t == 1)
            y = F.scaled_dot_product_attention(q, k, v); // one new query sees every stored position
        else
            // SDPA's is_causal aligns the mask top-left; new tokens after a cached prefix need it bottom-right.
            y = F.scaled_dot_product_attention(q, k, v, attn_mask: CausalMaskAfter(past, t, x.device));

        return Output(y, b, t).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One segment with Transformer-XL memory: queries at rotary positions m.., memory keys at
    /// 0..m-1, each query sees the whole memory and the segment causally. The memory is then
    /// replaced by the last positions of memory + segment (detached).
    /// </summary>
    public Tensor Forward(Tensor x, Rotary? rotary, SegmentMemory memory, int layer)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var k = Project(k_proj, x, kvHeads);
        var v = Project(v_proj, x, kvHeads);
        int m = 0; // this layer's memory (earlier layers have already stored this segment in theirs)
        if (memory.Read(layer) is { } remembered)
        {
            m = (int)remembered.Keys.shape[2];
            k = torch.cat([remembered.Keys, k], dim: 2);
            v = torch.cat([remembered.Values, v], dim: 2);
        }
        memory.Write(layer, k, v);
        var q = Rotate(rotary, Project(q_proj, x, heads), m);
        var y = F.scaled_dot_product_attention(q, ShareHeads(Rotate(rotary, k)), ShareHeads(v),
            attn_mask: m == 0 ? null : CausalMaskAfter(m, t, x.device), is_casual: m == 0 && t > 1);
        return Output(y, b, t).MoveToOuterDisposeScope();
    }

    /// <summary>RoPE when the model has it; without (GPT-2), queries and keys are used as projected.</summary>
    static Tensor Rotate(Rotary? rotary, Tensor x, long offset = 0) => rotary is null ? x : rotary.Apply(x, offset);

    Tensor Project(Linear projection, Tensor x, int count) =>
        projection.forward(x).view(x.shape[0], x.shape[1], count, headDim).transpose(1, 2);

    /// <summary>Grouped-query attention: each key/value head serves heads/kvHeads query heads.</summary>
    Tensor ShareHeads(Tensor kv) => kvHeads == heads ? kv : kv.repeat_interleave(heads / kvHeads, dim: 1);

    Tensor Output(Tensor y, long b, long t) => o_proj.forward(y.transpose(1, 2).reshape(b, t, heads * headDim));

    /// <summary>Boolean [t, past+t] mask: query i (at position past+i) sees keys 0..past+i.</summary>
    static Tensor CausalMaskAfter(int past, long t, Device device) =>
        torch.ones(t, past + t, dtype: ScalarType.Bool, device: device).tril(past);
}
