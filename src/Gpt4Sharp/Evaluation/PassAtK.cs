namespace Gpt4Sharp.Evaluation;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. (2021): the chance that at least one of k
/// samples drawn without replacement from n (of which c are correct) passes.
/// </summary>
public static class PassAtK
{
    /// <summary>
    /// 1 − C(n−c, k) / C(n, k), computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i), which never forms
    /// the huge binomials and so stays exact to rounding for n in the thousands.
    /// </summary>
    public static double Estimate(int n, int c, int k)
    {
        if (n < 1 || c < 0 || c > n || k < 1 || k > n)
            throw new ArgumentOutOfRangeException(nameof(k), $"pass@k needs 1 <= k <= n and 0 <= c <= n (got n={n}, c={c}, k={k}).");
        if (n - c < k) return 1.0;
        var allFail = 1.0;
        for (var i = n - c + 1; i <= n; i++) allFail *= 1.0 - (double)k / i;
        return 1.0 - allFail;
    }

    /// <summary>
    /// Mean pass@k over tasks, given (samples, correct) per task. Like the public harness, a k
    /// is reported only when every task has at least k samples; the others are left out.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Summarize(IReadOnlyList<(int Samples, int Correct)> tasks, IEnumerable<int> ks)
    {
        var result = new SortedDictionary<string, double>(Comparer<string>.Create((a, b) =>
            int.Parse(a.AsSpan(5)).CompareTo(int.Parse(b.AsSpan(5)))));
        if (tasks.Count == 0) return result;
        foreach (var k in ks.Distinct())
        {
            if (k < 1) throw new UserError($"k must be a positive integer (got {k}); pass e.g. -k 1,10,100.");
            if (tasks.Any(t => t.Samples < k)) continue;
            result[$"pass@{k}"] = tasks.Average(t => Estimate(t.Samples, t.Correct, k));
        }
        return result;
    }
}
