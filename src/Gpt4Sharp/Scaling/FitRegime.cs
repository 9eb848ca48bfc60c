using System.Text.Json.Serialization;

namespace Gpt4Sharp.Scaling;

/// <summary>How a series falls across its fit window, budget to budget.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FitRegime>))]
public enum FitRegime
{
    /// <summary>Each budget buys less than the one before: the shape a·C^(−b) + c (c &gt; 0) has. Necessary for a good extrapolation, not sufficient.</summary>
    Flattening,
    /// <summary>A constant log-log slope: a pure power law fits, and the window cannot tell where the series levels off.</summary>
    Steady,
    /// <summary>Each budget buys more than the one before: the data is still being learnt, which no a·C^(−b) + c can follow.</summary>
    Steepening,
}

/// <summary>
/// Whether a fit window's points have the shape the law y = a·C^(−b) + c can carry. That law's
/// log-log slope, d ln y / d ln C = −b·a·C^(−b) / y, only flattens as C grows (c &gt; 0) or stays
/// constant (c = 0). A series whose fall steepens from budget to budget (in session 9's ten
/// sweeps, the knowledge tokens on every seed and the arithmetic tokens on five) has not reached that regime,
/// and the fitted law cannot foresee where it will level off: its prediction is a guess however
/// small the fit's residuals. A steady window is hardly better: it fixes no floor, so the law
/// extrapolates as if there were none. Printed beside every prediction, before the held-out run trains.
/// </summary>
public sealed record RegimeCheck(IReadOnlyList<double> Slopes, FitRegime Regime)
{
    /// <summary>Relative change of the fall's steepness, from the first slope to the last, within which a window counts as steady.</summary>
    public const double SteadyTolerance = 0.15;

    /// <summary>The slopes between consecutive points of <paramref name="window"/> (sorted by compute) and the regime they show; steady with fewer than three points.</summary>
    public static RegimeCheck Of(IReadOnlyList<FrontierPoint> window)
    {
        var points = window.OrderBy(p => p.Compute).ToList();
        var slopes = points.Zip(points.Skip(1), (p, q) => Math.Log(q.Value / p.Value) / Math.Log(q.Compute / p.Compute)).ToList();
        if (slopes.Count < 2) return new(slopes, FitRegime.Steady);
        // Steepness = −slope (a falling series has a positive steepness); compare the window's two ends.
        double first = -slopes[0], last = -slopes[^1];
        var change = (last - first) / Math.Max(Math.Abs(first), 1e-9);
        var regime = change > SteadyTolerance ? FitRegime.Steepening : change < -SteadyTolerance ? FitRegime.Flattening : FitRegime.Steady;
        return new(slopes, regime);
    }

    /// <summary>One phrase for the console and the report, e.g. "steepening (log-log slopes −0.31 −0.45 −0.55): still being learnt, …".</summary>
    public string Describe() =>
        $"{Regime.ToString().ToLowerInvariant()} (log-log slopes {string.Join(" ", Slopes.Select(s => s.ToString("+0.00;−0.00")))}): " + Regime switch
        {
            FitRegime.Steepening => "still being learnt, which the law cannot follow; its prediction is a guess",
            FitRegime.Steady => "a pure power law fits; the window cannot tell where it levels off, and the prediction assumes it does not",
            _ => "the law's shape (necessary for a good extrapolation, not sufficient)",
        };
}
