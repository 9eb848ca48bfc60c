using System.Buffers;
using Gpt4Sharp.Generation;
using TorchSharp;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Gpt4Sharp.Server;

/// <summary>
/// Picks the next token of every row of a decode step from one host copy of the logits, instead
/// of a sampler call (and a device-to-host sync) per row: greedy rows take the argmax; sampled
/// rows apply their own temperature, top-k and top-p (the same rules as
/// <see cref="LogitsProcessor"/>) and draw by inverse CDF with a uniform number from the row's
/// own seeded generator. So a seeded request draws the same tokens whether it runs alone or
/// among other rows. The rows are filtered here in C#: a vocabulary-sized row is a few
/// microseconds of work, while the same filtering as batched libtorch calls (sort, softmax,
/// cumulative sums, masks) cost milliseconds per step at batch 16. Rows with a repetition
/// penalty need their history and are left to the caller (<see cref="Row.NeedsHistory"/>).
/// </summary>
static class BatchSampler
{
    /// <summary>One row's settings and its random stream.</summary>
    public sealed class Row(SamplingOptions options)
    {
        readonly Random random = new(unchecked((int)(options.Seed ^ (options.Seed >> 32))));

        public SamplingOptions Options => options;
        public bool Greedy => options.Temperature == 0;
        public bool NeedsHistory => options.RepetitionPenalty != 1.0;
        public double NextUniform() => random.NextDouble();
    }

    /// <summary>Next token per row of <paramref name="logits"/> [B, vocab]; rows that need history get -1.</summary>
    public static long[] Choose(Tensor logits, IReadOnlyList<Row> rows)
    {
        int vocab = (int)logits.shape[1];
        float[] host;
        using (torch.NewDisposeScope()) host = logits.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        var chosen = new long[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = host.AsSpan(r * vocab, vocab);
            chosen[r] = rows[r].NeedsHistory ? -1 : rows[r].Greedy ? TensorPrimitives.IndexOfMax<float>(row) : Sample(row, rows[r]);
        }
        return chosen;
    }

    /// <summary>
    /// Temperature, then top-k and top-p over the sorted row (the best token always stays), then
    /// the inverse CDF at the row's next uniform number. A row with neither filter needs no sort:
    /// it draws over the vocabulary in id order.
    /// </summary>
    static int Sample(ReadOnlySpan<float> logits, Row row)
    {
        var options = row.Options;
        int vocab = logits.Length;
        bool filtered = options.TopK is > 0 && options.TopK < vocab || options.TopP < 1;
        var scaled = ArrayPool<float>.Shared.Rent(vocab);
        var order = ArrayPool<int>.Shared.Rent(vocab);
        try
        {
            var weights = scaled.AsSpan(0, vocab);
            // exp((logit - max) / T): the largest weight is 1, so nothing overflows.
            TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), weights);
            TensorPrimitives.Multiply(weights, (float)(1 / options.Temperature), weights);
            TensorPrimitives.Exp(weights, weights);
            if (!filtered) return Draw(weights, null, vocab, row.NextUniform());

            var ids = order.AsSpan(0, vocab);
            for (int i = 0; i < vocab; i++) ids[i] = i;
            weights.Sort(ids, static (a, b) => b.CompareTo(a)); // descending weight, ids alongside
            double total = TensorPrimitives.Sum<float>(weights);
            int keep = options.TopK is > 0 && options.TopK < vocab ? options.TopK : vocab;
            double before = 0;
            for (int j = 0; j < keep; j++)
            {
                if (before >= options.TopP) { keep = j; break; } // the tokens before j already reach p
                before += weights[j] / total;
            }
            return Draw(weights, ids, keep, row.NextUniform());
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scaled);
            ArrayPool<int>.Shared.Return(order);
        }
    }

    /// <summary>The inverse CDF at <paramref name="u"/> over the first <paramref name="count"/> weights (ids in <paramref name="ids"/>, or the positions themselves).</summary>
    static int Draw(ReadOnlySpan<float> weights, ReadOnlySpan<int> ids, int count, double u)
    {
        double total = 0;
        for (int j = 0; j < count; j++) total += weights[j];
        double target = u * total, cumulative = 0;
        for (int j = 0; j < count - 1; j++)
            if ((cumulative += weights[j]) > target) return ids.IsEmpty ? j : ids[j];
        return ids.IsEmpty ? count - 1 : ids[count - 1];
    }
}
