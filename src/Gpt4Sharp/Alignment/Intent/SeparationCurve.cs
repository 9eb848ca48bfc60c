namespace Gpt4Sharp.Alignment.Intent;

/// <summary>
/// One operating point of a harmful-vs-benign score: every prompt scoring at or above <see cref="Threshold"/> is
/// flagged (would be refused); how many harmful and benign prompts that flags.
/// </summary>
public sealed record OperatingPoint(double Threshold, int HarmfulFlagged, int Harmful, int BenignFlagged, int Benign)
{
    public double Recall => Harmful == 0 ? double.NaN : (double)HarmfulFlagged / Harmful;
    public double FalseFlagRate => Benign == 0 ? double.NaN : (double)BenignFlagged / Benign;
}

/// <summary>
/// ROC arithmetic for a score where higher means "more likely harmful", written here because it is a few lines
/// over two lists (no library is worth a dependency for it). A threshold is always one of the harmful scores,
/// and ties count as flagged, so "flag at least k harmful" never flatters the benign side.
/// </summary>
public static class SeparationCurve
{
    /// <summary>The highest threshold that flags at least <paramref name="flagged"/> of the harmful scores, and what it flags on both sides.</summary>
    public static OperatingPoint AtHarmfulFlagged(IReadOnlyList<double> harmful, IReadOnlyList<double> benign, int flagged)
    {
        if (harmful.Count == 0) throw new ArgumentException("Give at least one harmful score.", nameof(harmful));
        if (flagged < 1 || flagged > harmful.Count) throw new ArgumentOutOfRangeException(nameof(flagged), flagged, $"Between 1 and {harmful.Count} harmful prompts can be flagged.");
        double threshold = harmful.OrderByDescending(s => s).ElementAt(flagged - 1);
        return new OperatingPoint(threshold, harmful.Count(s => s >= threshold), harmful.Count, benign.Count(s => s >= threshold), benign.Count);
    }

    /// <summary>The operating point that flags at least the share <paramref name="recall"/> (0–1] of the harmful scores.</summary>
    public static OperatingPoint AtRecall(IReadOnlyList<double> harmful, IReadOnlyList<double> benign, double recall)
    {
        if (!(recall > 0 && recall <= 1)) throw new ArgumentOutOfRangeException(nameof(recall), recall, "A recall is above 0 and at most 1.");
        // The small margin keeps 0.99 × 100 from rounding up to 100 through floating-point error.
        return AtHarmfulFlagged(harmful, benign, Math.Max(1, (int)Math.Ceiling(recall * harmful.Count - 1e-9)));
    }

    /// <summary>Area under the ROC curve: the chance a harmful score beats a benign one, ties counting half (Mann–Whitney).</summary>
    public static double Auc(IReadOnlyList<double> harmful, IReadOnlyList<double> benign)
    {
        if (harmful.Count == 0 || benign.Count == 0) return double.NaN;
        double wins = 0;
        foreach (var h in harmful)
            foreach (var b in benign)
                wins += h > b ? 1 : h == b ? 0.5 : 0;
        return wins / ((double)harmful.Count * benign.Count);
    }
}
