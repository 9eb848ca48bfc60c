using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>
/// Child et al. (2019)'s factorised sparse attention, both patterns merged into one head and
/// computed on gathered blocks: the sequence is cut into nb blocks of length l, and each query
/// block only multiplies against the few key blocks or columns its pattern allows. With l ≈ √n
/// every score tensor holds O(n·√n) numbers, so time and memory grow as n^1.5, not n². The
/// pieces are plain batched matmuls and one softmax over their concatenated scores, so autograd
/// gives the exact backward pass. libtorch has no block-sparse attention kernel for CPU, hence
/// this is written here.
/// </summary>
public static class SparseAttention
{
    /// <summary>Sparse causal attention of q, k, v [B, H, n, D] (keys and values already one per query head).</summary>
    public static Tensor Compute(AttentionKind kind, Tensor q, Tensor k, Tensor v, int block, int summary) => kind switch
    {
        AttentionKind.SparseStrided => Strided(q, k, v, block),
        AttentionKind.SparseFixed => Fixed(q, k, v, block, summary),
        _ => throw new ArgumentException($"{kind} is not a sparse pattern", nameof(kind)),
    };

    /// <summary>
    /// Strided pattern: query i sees keys i-l+1..i (its "row") and i-l, i-2l, ... (its "column").
    /// The row lies in the query's block and the one before; the column is the query's offset
    /// inside every earlier block, i.e. one row of the blocks transposed.
    /// </summary>
    public static Tensor Strided(Tensor q, Tensor k, Tensor v, int block)
    {
        using var scope = torch.NewDisposeScope();
        long n = q.shape[2], l = block;
        var (qb, kb, vb, nb) = (Blocks(q, l), Blocks(k, l), Blocks(v, l), BlockCount(n, l));
        var device = q.device;

        // Row part: keys of the previous and the own block, [B, H, nb, l, 2l].
        var kLocal = torch.cat([PreviousBlock(kb), kb], dim: 3);
        var vLocal = torch.cat([PreviousBlock(vb), vb], dim: 3);
        var r = torch.arange(l, device: device).view(1, l, 1);
        var c = torch.arange(2 * l, device: device).view(1, 1, 2 * l);
        var qBlock = torch.arange(nb, device: device).view(nb, 1, 1);
        var diff = l + r - c; // query position minus key position
        var localMask = (diff >= 0) & (diff < l) & ((qBlock > 0) | (c >= l));
        var localScores = torch.matmul(qb, kLocal.transpose(-1, -2)).masked_fill(localMask.logical_not(), double.NegativeInfinity);

        // Column part: same offset in every strictly earlier block, [B, H, nb, l, nb].
        var qT = qb.transpose(2, 3);
        var kT = kb.transpose(2, 3);
        var earlier = torch.ones(nb, nb, dtype: ScalarType.Bool, device: device).tril(-1);
        var strideScores = torch.matmul(qT, kT.transpose(-1, -2)).masked_fill(earlier.logical_not(), double.NegativeInfinity).transpose(2, 3);

        var p = Softmax(torch.cat([localScores, strideScores], dim: -1), q.shape[^1]);
        var y = torch.matmul(p.narrow(-1, 0, 2 * l), vLocal)
              + torch.matmul(p.narrow(-1, 2 * l, nb).transpose(2, 3), vb.transpose(2, 3)).transpose(2, 3);
        return Unblock(y, n).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fixed pattern: query i sees the earlier positions of its own block and the last
    /// <paramref name="summary"/> positions of every earlier block, gathered into one small key set.
    /// </summary>
    public static Tensor Fixed(Tensor q, Tensor k, Tensor v, int block, int summary)
    {
        using var scope = torch.NewDisposeScope();
        long n = q.shape[2], l = block, s = summary;
        var (qb, kb, vb, nb) = (Blocks(q, l), Blocks(k, l), Blocks(v, l), BlockCount(n, l));
        var device = q.device;

        var causal = torch.ones(l, l, dtype: ScalarType.Bool, device: device).tril();
        var localScores = torch.matmul(qb, kb.transpose(-1, -2)).masked_fill(causal.logical_not(), double.NegativeInfinity);

        // Summary columns of all blocks, [B, H, nb·s, D]; query block b sees those of blocks < b.
        long batch = q.shape[0], heads = q.shape[1], d = q.shape[^1];
        var kSum = kb.narrow(3, l - s, s).reshape(batch, heads, 1, nb * s, d);
        var vSum = vb.narrow(3, l - s, s).reshape(batch, heads, 1, nb * s, d);
        var keyBlock = torch.arange(nb * s, device: device).div(s, rounding_mode: RoundingMode.floor).view(1, 1, nb * s);
        var qBlock = torch.arange(nb, device: device).view(nb, 1, 1);
        var summaryScores = torch.matmul(qb, kSum.transpose(-1, -2)).masked_fill((keyBlock < qBlock).logical_not(), double.NegativeInfinity);

        var p = Softmax(torch.cat([localScores, summaryScores], dim: -1), d);
        var y = torch.matmul(p.narrow(-1, 0, l), vb) + torch.matmul(p.narrow(-1, l, nb * s), vSum);
        return Unblock(y, n).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The pattern as an explicit boolean mask [queries, keys] for query positions
    /// queryStart.. and key positions 0..keys-1: what the gathered computation is equivalent to,
    /// and what decoding with a KV cache uses (one new query row costs O(n) either way).
    /// </summary>
    public static Tensor PatternMask(AttentionKind kind, long queryStart, long queries, long keys, int block, int summary, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        var i = torch.arange(queryStart, queryStart + queries, device: device).unsqueeze(1);
        var j = torch.arange(keys, device: device).unsqueeze(0);
        var diff = i - j;
        var pattern = kind switch
        {
            AttentionKind.SparseStrided => (diff < block) | (diff.remainder(block) == 0),
            AttentionKind.SparseFixed => (i.div(block, rounding_mode: RoundingMode.floor) == j.div(block, rounding_mode: RoundingMode.floor)) | (j.remainder(block) >= block - summary),
            _ => torch.ones_like(diff, dtype: ScalarType.Bool),
        };
        return (pattern & (diff >= 0)).MoveToOuterDisposeScope();
    }

    static long BlockCount(long n, long l) => (n + l - 1) / l;

    /// <summary>[B, H, n, D] zero-padded to whole blocks and viewed as [B, H, nb, l, D]; padded keys lie after every real query, so causality hides them.</summary>
    static Tensor Blocks(Tensor x, long l)
    {
        long n = x.shape[2], nb = BlockCount(n, l);
        if (nb * l != n) x = F.pad(x, [0, 0, 0, nb * l - n]);
        return x.view(x.shape[0], x.shape[1], nb, l, x.shape[3]);
    }

    /// <summary>Each block's predecessor (zeros before the first), [B, H, nb, l, D].</summary>
    static Tensor PreviousBlock(Tensor blocks) => F.pad(blocks, [0, 0, 0, 0, 1, 0]).narrow(2, 0, blocks.shape[2]);

    static Tensor Softmax(Tensor scores, long headDim) => (scores * (1.0 / Math.Sqrt(headDim))).softmax(-1);

    static Tensor Unblock(Tensor y, long n) => y.reshape(y.shape[0], y.shape[1], -1, y.shape[^1]).narrow(2, 0, n);
}
