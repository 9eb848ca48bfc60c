using MathNet.Numerics;

namespace Gpt4Sharp.Scaling;

/// <summary>One measurement on a run's learning curve: the value of a metric after <see cref="Compute"/> training FLOPs.</summary>
public readonly record struct CurvePoint(long Step, double Compute, double Loss, double CodeNll);

/// <summary>A point of the compute-efficient frontier: the best value reachable with this compute, and the fitted run closest to it.</summary>
public readonly record struct FrontierPoint(double Compute, double Value, string Run);

/// <summary>The final value of one finished run with its own full learning-rate schedule, trained for the compute budget <see cref="Budget"/>.</summary>
public readonly record struct IsoFlopRun(string Run, double Budget, double Parameters, double Value);

/// <summary>
/// The compute-efficient frontier from IsoFLOP profiles (Hoffmann et al. 2022, approach 2): several
/// model sizes are trained for the same compute budget, each with a learning-rate schedule that
/// decays over its own length, and the frontier at that budget is the minimum of a parabola fitted
/// to final value against log parameters. Only finished runs count, so no point depends on reading
/// a run's curve as if it had stopped early (which a decaying schedule forbids).
/// </summary>
public static class IsoFlopFrontier
{
    /// <summary>Runs whose budgets differ by less than this relative amount share one IsoFLOP profile.</summary>
    public const double BudgetTolerance = 5e-3;

    /// <summary>
    /// One point per budget, in increasing compute. With three or more sizes the value is the vertex
    /// of the least-squares parabola in ln N when it opens upwards and lies inside the sizes trained;
    /// otherwise (fewer sizes, a flat or unbracketed profile) it is the best run's value, since a
    /// parabola's vertex outside the data is an extrapolation.
    /// </summary>
    public static IReadOnlyList<FrontierPoint> Build(IReadOnlyList<IsoFlopRun> runs)
    {
        var frontier = new List<FrontierPoint>();
        foreach (var profile in GroupByBudget(runs))
        {
            var best = profile.MinBy(r => r.Value);
            frontier.Add(new FrontierPoint(profile.Average(r => r.Budget), Minimum(profile) ?? best.Value, best.Run));
        }
        return frontier;
    }

    /// <summary>The vertex value of the parabola through (ln N, value), or null when it is not a bracketed minimum.</summary>
    public static double? Minimum(IReadOnlyList<IsoFlopRun> profile) =>
        Vertex(profile) is { } vertex ? Parabola(profile)(vertex) : null;

    /// <summary>
    /// The frontier of a component of the value (one data family's loss, say) at the sizes where the
    /// frontier of the value itself lies: per budget of <paramref name="runs"/>, the component's
    /// least-squares parabola in ln N evaluated at the value's vertex, or, where <see cref="Build"/>
    /// falls back to the best run, that run's component. <paramref name="component"/> gives each run's
    /// component by run name. A parabola fit is linear in the data, so when the value is a fixed
    /// weighted sum of its components, so is this frontier of the value's.
    /// </summary>
    public static IReadOnlyList<FrontierPoint> BuildAt(IReadOnlyList<IsoFlopRun> runs, IReadOnlyDictionary<string, double> component)
    {
        var frontier = new List<FrontierPoint>();
        foreach (var profile in GroupByBudget(runs))
        {
            var best = profile.MinBy(r => r.Value);
            var parts = profile.Select(r => r with { Value = component[r.Run] }).ToList();
            double value = Vertex(profile) is { } vertex ? Parabola(parts)(vertex) : component[best.Run];
            frontier.Add(new FrontierPoint(profile.Average(r => r.Budget), value, best.Run));
        }
        return frontier;
    }

    /// <summary>The ln N of the minimum of the parabola through (ln N, value), or null when it is not a bracketed minimum.</summary>
    static double? Vertex(IReadOnlyList<IsoFlopRun> profile)
    {
        var x = profile.Select(r => Math.Log(r.Parameters)).ToArray();
        if (x.Distinct().Count() < 3) return null;
        var p = Coefficients(profile);
        if (!(p[2] > 0)) return null;
        double vertex = -p[1] / (2 * p[2]);
        return vertex < x.Min() || vertex > x.Max() ? null : vertex;
    }

    static Func<double, double> Parabola(IReadOnlyList<IsoFlopRun> profile)
    {
        var p = Coefficients(profile);
        return x => p[0] + p[1] * x + p[2] * x * x;
    }

    /// <summary>Math.NET's least-squares polynomial fit: value ≈ p0 + p1·ln N + p2·(ln N)².</summary>
    static double[] Coefficients(IReadOnlyList<IsoFlopRun> profile) =>
        Fit.Polynomial([.. profile.Select(r => Math.Log(r.Parameters))], [.. profile.Select(r => r.Value)], 2);

    static IEnumerable<List<IsoFlopRun>> GroupByBudget(IReadOnlyList<IsoFlopRun> runs)
    {
        var groups = new List<List<IsoFlopRun>>();
        foreach (var run in runs.OrderBy(r => r.Budget))
        {
            if (groups.Count > 0 && Math.Abs(run.Budget / groups[^1][0].Budget - 1) <= BudgetTolerance) groups[^1].Add(run);
            else groups.Add([run]);
        }
        return groups;
    }
}
