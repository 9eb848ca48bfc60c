namespace Gpt4Sharp.Scaling;

/// <summary>One measurement on a run's learning curve: the value of a metric after <see cref="Compute"/> training FLOPs.</summary>
public readonly record struct CurvePoint(long Step, double Compute, double Loss, double CodeNll);

/// <summary>A point of the compute-efficient frontier: the best value any run reached at this compute, and which run it was.</summary>
public readonly record struct FrontierPoint(double Compute, double Value, string Run);

/// <summary>
/// The compute-efficient frontier of Kaplan et al. (2020), figure 1 and section 6: at each compute
/// level, the lowest value over every run's learning curve. A run's curve only counts as "a run
/// of that compute" when its learning-rate schedule does not depend on the run's length (here:
/// warmup, then a constant rate), so the value after C FLOPs is what a run stopped at C would
/// have reached.
/// </summary>
public static class ComputeFrontier
{
    /// <summary>
    /// The frontier on <paramref name="points"/> log-spaced compute levels from <paramref name="from"/>
    /// to <paramref name="to"/>. Each curve is interpolated linearly in log compute between its
    /// measurements and counts only inside its measured range.
    /// </summary>
    public static IReadOnlyList<FrontierPoint> Build(IReadOnlyList<(string Run, IReadOnlyList<(double Compute, double Value)> Curve)> curves,
        double from, double to, int points)
    {
        if (!(from > 0 && to > from) || points < 2) throw new ArgumentException($"frontier range must be 0 < from < to with at least 2 points (got {from}, {to}, {points})");
        var frontier = new List<FrontierPoint>();
        for (int i = 0; i < points; i++)
        {
            double c = Math.Exp(Math.Log(from) + (Math.Log(to) - Math.Log(from)) * i / (points - 1));
            FrontierPoint? best = null;
            foreach (var (run, curve) in curves)
                if (At(curve, c) is { } v && (best is null || v < best.Value.Value)) best = new FrontierPoint(c, v, run);
            if (best is { } b) frontier.Add(b);
        }
        return frontier;
    }

    /// <summary>The curve's value at compute <paramref name="c"/> (log-linear interpolation), or null outside its measured range.</summary>
    public static double? At(IReadOnlyList<(double Compute, double Value)> curve, double c)
    {
        // Runs of "equal" compute differ by their step rounding: a measurement within this relative
        // distance of c stands for c.
        const double Slack = 5e-3;
        for (int i = 0; i < curve.Count; i++)
        {
            if (Math.Abs(curve[i].Compute - c) <= Slack * c) return curve[i].Value;
            if (i > 0 && curve[i - 1].Compute < c && c < curve[i].Compute)
            {
                double t = Math.Log(c / curve[i - 1].Compute) / Math.Log(curve[i].Compute / curve[i - 1].Compute);
                return curve[i - 1].Value + t * (curve[i].Value - curve[i - 1].Value);
            }
        }
        return null;
    }
}
