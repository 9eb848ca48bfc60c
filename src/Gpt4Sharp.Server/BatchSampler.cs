using Gpt4Sharp.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Server;

/// <summary>
/// Picks the next token of every row of a decode step with a few batched operations and one
/// host copy, instead of a sampler call (and a device-to-host sync) per row: greedy rows take
/// the argmax; sampled rows apply their own temperature, top-k and top-p (the same rules as
/// <see cref="LogitsProcessor"/>) and draw by inverse CDF with a uniform number from the
/// row's own seeded generator. So a seeded request draws the same tokens whether it runs alone
/// or among other rows. Rows with a repetition penalty need their history and are left to the
/// caller (<see cref="Row.NeedsHistory"/>).
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

    /// <summary>Next token per row of <paramref name="logits"/> [B, vocab] (float32); rows that need history get -1.</summary>
    public static long[] Choose(Tensor logits, IReadOnlyList<Row> rows)
    {
        using var scope = torch.NewDisposeScope();
        int b = rows.Count;
        long vocab = logits.shape[1];
        var device = logits.device;
        var greedy = logits.argmax(-1);
        if (rows.All(r => r.Greedy || r.NeedsHistory)) return greedy.cpu().data<long>().ToArray();

        var temperature = torch.tensor(rows.Select(r => r.Greedy ? 1f : (float)r.Options.Temperature).ToArray(), device: device).unsqueeze(1);
        var topK = torch.tensor(rows.Select(r => r.Options.TopK is > 0 && r.Options.TopK < vocab ? (long)r.Options.TopK : vocab).ToArray(), device: device).unsqueeze(1);
        var topP = torch.tensor(rows.Select(r => (float)r.Options.TopP).ToArray(), device: device).unsqueeze(1);
        var uniform = torch.tensor(rows.Select(r => r.Greedy || r.NeedsHistory ? 0f : (float)r.NextUniform()).ToArray(), device: device).unsqueeze(1);

        var (sorted, order) = (logits / temperature).sort(dim: -1, descending: true);
        var rank = torch.arange(vocab, device: device).unsqueeze(0);
        var probs = sorted.softmax(-1);
        // Top-k keeps the k best; top-p drops a token once the tokens before it reach p (the best always stays).
        var drop = (rank >= topK) | ((probs.cumsum(-1) - probs) >= topP);
        var kept = sorted.masked_fill(drop, double.NegativeInfinity).softmax(-1).cumsum(-1);
        // Inverse CDF: the first sorted position whose cumulative probability exceeds u.
        // Dropped tokens form a suffix of the sorted row; rounding must never land on one of them.
        var last = (~drop).sum(1, keepdim: true) - 1;
        var position = torch.minimum((kept <= uniform).sum(1, keepdim: true), last);
        var sampled = order.gather(1, position).squeeze(1);
        var isGreedy = torch.tensor(rows.Select(r => r.Greedy).ToArray(), device: device);
        var chosen = torch.where(isGreedy, greedy, sampled).cpu().data<long>().ToArray();
        for (int r = 0; r < b; r++) if (rows[r].NeedsHistory) chosen[r] = -1;
        return chosen;
    }
}
