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

    /// <summary>Temperature, then top-k and top-p over the sorted row (the best token always stays), then the inverse CDF at the row's next uniform number.</summary>
    static int Sample(ReadOnlySpan<float> logits, Row row)
    {
        var options = row.Options;
        int vocab = logits.Length;
        var negated = new float[vocab]; // sorting negated logits ascending sorts the logits descending
        var order = new int[vocab];
        for (int i = 0; i < vocab; i++) (negated[i], order[i]) = (-logits[i] / (float)options.Temperature, i);
        Array.Sort(negated, order);

        var probabilities = new double[vocab];
        double total = 0;
        for (int j = 0; j < vocab; j++) total += probabilities[j] = Math.Exp(negated[0] - negated[j]); // the best logit is -negated[0]
        int keep = options.TopK is > 0 && options.TopK < vocab ? options.TopK : vocab;
        double before = 0;
        for (int j = 0; j < keep; j++)
        {
            if (before >= options.TopP) { keep = j; break; } // the tokens before j already reach p
            before += probabilities[j] / total;
        }
        double kept = 0;
        for (int j = 0; j < keep; j++) kept += probabilities[j];
        double u = row.NextUniform(), cumulative = 0;
        for (int j = 0; j < keep - 1; j++)
            if ((cumulative += probabilities[j] / kept) > u) return order[j];
        return order[keep - 1];
    }
}
