using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Tests.Model;

public class SparseAttentionTests
{
    /// <summary>Gathered-block sparse attention equals dense SDPA under the explicit pattern mask, outputs and all three gradients.</summary>
    [Theory]
    [InlineData(AttentionKind.SparseStrided, 64, 8, 1)]
    [InlineData(AttentionKind.SparseStrided, 61, 7, 1)]  // n not a multiple of the block: padding must stay invisible
    [InlineData(AttentionKind.SparseFixed, 64, 8, 1)]
    [InlineData(AttentionKind.SparseFixed, 61, 8, 3)]
    public void Gathered_blocks_equal_dense_attention_under_the_pattern_mask_forward_and_backward(AttentionKind kind, int n, int block, int summary)
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(11);
        Tensor Leaf() => torch.randn([2, 3, n, 16], dtype: ScalarType.Float64, generator: g).requires_grad_();
        var (q1, k1, v1) = (Leaf(), Leaf(), Leaf());
        var (q2, k2, v2) = (q1.detach().clone().requires_grad_(), k1.detach().clone().requires_grad_(), v1.detach().clone().requires_grad_());
        var upstream = torch.randn([2, 3, n, 16], dtype: ScalarType.Float64, generator: g);

        var sparse = SparseAttention.Compute(kind, q1, k1, v1, block, summary);
        var mask = SparseAttention.PatternMask(kind, 0, n, n, block, summary);
        var dense = F.scaled_dot_product_attention(q2, k2, v2, attn_mask: mask);
        (sparse * upstream).sum().backward();
        (dense * upstream).sum().backward();

        AssertClose(dense, sparse, "output");
        AssertClose(q2.grad!, q1.grad!, "dq");
        AssertClose(k2.grad!, k1.grad!, "dk");
        AssertClose(v2.grad!, v1.grad!, "dv");
    }

    [Fact]
    public void Pattern_masks_follow_child_et_al()
    {
        // Strided, l=4: query 9 sees 6..9 (row) and 5, 1 (column); fixed, l=4, c=1: 8, 9 (own block) and 3, 7 (summaries).
        var strided = SparseAttention.PatternMask(AttentionKind.SparseStrided, 9, 1, 10, 4, 1).squeeze(0);
        Assert.Equal([1, 5, 6, 7, 8, 9], Allowed(strided));
        var fixedMask = SparseAttention.PatternMask(AttentionKind.SparseFixed, 9, 1, 10, 4, 1).squeeze(0);
        Assert.Equal([3, 7, 8, 9], Allowed(fixedMask));
    }

    /// <summary>A sparse model decodes with its KV cache exactly as its whole-sequence forward computes.</summary>
    [Theory]
    [InlineData(AttentionKind.SparseStrided)]
    [InlineData(AttentionKind.SparseFixed)]
    public void Sparse_model_decoding_with_a_cache_matches_the_full_forward(AttentionKind kind)
    {
        using var scope = torch.NewDisposeScope();
        var config = new GptConfig { VocabSize = 50, ContextLength = 40, DModel = 32, Layers = 2, Heads = 2, KvHeads = 1, FfnHidden = 64, Attention = kind, SparseBlock = 5, SparseSummary = 2 };
        using var model = new GptModel(config);
        model.eval();
        using var noGrad = torch.no_grad();
        var tokens = torch.randint(0, 50, [1, 33], generator: new Generator(5));
        var full = model.Forward(tokens);
        using var cache = model.NewCache();
        var pieces = new List<Tensor> { model.Forward(tokens.narrow(1, 0, 17), cache), model.Forward(tokens.narrow(1, 17, 6), cache) };
        for (int t = 23; t < 33; t++) pieces.Add(model.Forward(tokens.narrow(1, t, 1), cache));
        AssertClose(full, torch.cat(pieces, 1), "logits", 1e-4);

        var dense = model.Forward(tokens); // and differs from dense attention with the same weights
        using var denseModel = new GptModel(config with { Attention = AttentionKind.Dense });
        denseModel.load_state_dict(model.state_dict());
        denseModel.eval();
        Assert.True((denseModel.Forward(tokens) - dense).abs().max().item<float>() > 1e-3);
    }

    static long[] Allowed(Tensor row) => row.nonzero().squeeze(1).data<long>().ToArray();

    static void AssertClose(Tensor expected, Tensor actual, string what, double tolerance = 1e-5)
    {
        var diff = (expected - actual).abs().max().to(ScalarType.Float64).item<double>();
        Assert.True(diff < tolerance, $"{what}: max difference {diff}");
    }
}
