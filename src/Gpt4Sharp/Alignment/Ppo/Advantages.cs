namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>Generalised advantage estimation and masked whitening, on one sequence's or one batch's numbers.</summary>
public static class Advantages
{
    /// <summary>
    /// GAE (Schulman et al. 2016) over one response: δ_t = r_t + γ·V_{t+1} − V_t with V after the
    /// last token taken as 0 (the episode ends there), A_t = δ_t + γλ·A_{t+1}. Returns the
    /// advantages and the value targets A_t + V_t.
    /// </summary>
    public static (double[] Advantages, double[] Returns) Gae(IReadOnlyList<double> rewards, IReadOnlyList<double> values, double gamma, double lambda)
    {
        if (rewards.Count != values.Count) throw new ArgumentException($"{rewards.Count} rewards but {values.Count} values.");
        int n = rewards.Count;
        var advantages = new double[n];
        var returns = new double[n];
        double next = 0, running = 0;
        for (int t = n - 1; t >= 0; t--)
        {
            double delta = rewards[t] + gamma * next - values[t];
            running = delta + gamma * lambda * running;
            advantages[t] = running;
            returns[t] = running + values[t];
            next = values[t];
        }
        return (advantages, returns);
    }

    /// <summary>Scales values to unit variance and, when <paramref name="shiftMean"/>, zero mean (in place); a constant batch is only centred.</summary>
    public static void Whiten(Span<double> values, bool shiftMean = true)
    {
        if (values.Length < 2) return;
        double mean = 0;
        foreach (var v in values) mean += v;
        mean /= values.Length;
        double variance = 0;
        foreach (var v in values) variance += (v - mean) * (v - mean);
        double std = Math.Sqrt(variance / (values.Length - 1));
        double scale = std > 1e-8 ? 1 / std : 1;
        for (int i = 0; i < values.Length; i++)
            values[i] = shiftMean ? (values[i] - mean) * scale : (values[i] - mean) * scale + mean;
    }
}
