using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace Gpt4Sharp.Scaling;

/// <summary>
/// L(N, D) = E + A·N^(−α) + B·D^(−β): the parametric loss of Hoffmann et al. (2022, "Chinchilla",
/// approach 3) for a model of N parameters trained on D tokens. E is the irreducible loss; the
/// other two terms are what a finite model and a finite amount of data leave on top of it.
/// </summary>
public sealed record ParametricLaw(double E, double A, double Alpha, double B, double Beta)
{
    public double At(double parameters, double tokens) => E + A * Math.Pow(parameters, -Alpha) + B * Math.Pow(tokens, -Beta);

    public override string ToString() => $"{E:G4} + {A:G4}·N^(−{Alpha:G4}) + {B:G4}·D^(−{Beta:G4})";
}

/// <summary>One measured loss: a model of <see cref="Parameters"/> parameters after <see cref="Tokens"/> training tokens.</summary>
public readonly record struct LossObservation(double Parameters, double Tokens, double Loss);

/// <summary>A fitted parametric law and how well it matches the observations it was fitted on.</summary>
public sealed record ParametricFitResult(ParametricLaw Law, double RootMeanSquareError, int Points);

/// <summary>
/// Least-squares fit of <see cref="ParametricLaw"/> by variable projection, as <see cref="PowerLawFit"/>:
/// for fixed exponents (α, β) the law is linear in (E, A, B), which then have an exact non-negative
/// least-squares solution, so only the two exponents are searched — a log-spaced grid, then
/// Math.NET's Nelder–Mead simplex from the best grid point. Hoffmann et al. fit all five
/// parameters with L-BFGS from a grid of starts for the same reason: the surface has several
/// local minima, and the grid decides which one a local method finds. E, A, B ≥ 0.
/// </summary>
public static class ParametricLawFit
{
    const double MinExponent = 1e-3, MaxExponent = 4;

    /// <summary>Whether the observations identify both exponents: at least 3 model sizes and 3 token counts.</summary>
    public static bool HasEnoughData(IReadOnlyList<LossObservation> points) =>
        points.Select(p => p.Parameters).Distinct().Count() >= 3 && points.Select(p => p.Tokens).Distinct().Count() >= 3;

    public static ParametricFitResult Fit(IReadOnlyList<LossObservation> points)
    {
        if (points.Any(p => !(p.Parameters > 0) || !(p.Tokens > 0) || !double.IsFinite(p.Parameters) || !double.IsFinite(p.Tokens) || !double.IsFinite(p.Loss)))
            throw new UserError("Parametric loss fitting needs positive, finite parameter and token counts and finite losses; a run produced an invalid value.");
        if (!HasEnoughData(points))
            throw new UserError($"A parametric loss fit needs at least 3 model sizes and 3 token counts (got {points.Select(p => p.Parameters).Distinct().Count()} and {points.Select(p => p.Tokens).Distinct().Count()}); train more sweep sizes or measure more curve points.");

        // Parameters and tokens scaled to their geometric means, so every power stays near 1 whatever the exponent.
        double nScale = Math.Exp(points.Average(p => Math.Log(p.Parameters))), dScale = Math.Exp(points.Average(p => Math.Log(p.Tokens)));
        var n = points.Select(p => p.Parameters / nScale).ToArray();
        var d = points.Select(p => p.Tokens / dScale).ToArray();
        var y = Vector<double>.Build.DenseOfEnumerable(points.Select(p => p.Loss));
        double Clamp(double logExponent) => Math.Exp(Math.Clamp(logExponent, Math.Log(MinExponent), Math.Log(MaxExponent)));
        double Sse(double logAlpha, double logBeta) => Solve(n, d, y, Clamp(logAlpha), Clamp(logBeta)).Sse;

        const int grid = 40;
        double lo = Math.Log(MinExponent), hi = Math.Log(MaxExponent);
        (double A, double B, double Sse) best = (0, 0, double.PositiveInfinity);
        for (int i = 0; i <= grid; i++)
            for (int j = 0; j <= grid; j++)
            {
                double la = lo + (hi - lo) * i / grid, lb = lo + (hi - lo) * j / grid, s = Sse(la, lb);
                if (s < best.Sse) best = (la, lb, s);
            }
        var start = Vector<double>.Build.Dense([best.A, best.B]);
        var refined = new NelderMeadSimplex(1e-14, 2000).FindMinimum(ObjectiveFunction.Value(v => Sse(v[0], v[1])), start).MinimizingPoint;
        double alpha = Clamp(refined[0]), beta = Clamp(refined[1]);
        var (e, aScaled, bScaled, sse) = Solve(n, d, y, alpha, beta);
        // A·(N/nScale)^(−α) = (A·nScale^α)·N^(−α), and the same for the data term.
        var law = new ParametricLaw(e, aScaled * Math.Pow(nScale, alpha), alpha, bScaled * Math.Pow(dScale, beta), beta);
        return new ParametricFitResult(law, Math.Sqrt(sse / points.Count), points.Count);
    }

    /// <summary>
    /// Non-negative least squares for (E, A, B) at fixed exponents: with three coefficients the
    /// optimum is the unconstrained least-squares solution on one subset of the columns that comes
    /// out non-negative, so every subset is tried and the best feasible one kept.
    /// </summary>
    static (double E, double A, double B, double Sse) Solve(double[] n, double[] d, Vector<double> y, double alpha, double beta)
    {
        var columns = new[]
        {
            Vector<double>.Build.Dense(n.Length, 1.0),
            Vector<double>.Build.DenseOfEnumerable(n.Select(v => Math.Pow(v, -alpha))),
            Vector<double>.Build.DenseOfEnumerable(d.Select(v => Math.Pow(v, -beta))),
        };
        (double E, double A, double B, double Sse) best = (0, 0, 0, y.DotProduct(y));
        for (int subset = 1; subset < 8; subset++)
        {
            var used = Enumerable.Range(0, 3).Where(k => (subset & (1 << k)) != 0).ToArray();
            var x = Matrix<double>.Build.DenseOfColumnVectors(used.Select(k => columns[k]));
            var coefficients = x.QR().Solve(y);
            if (coefficients.Any(c => c < 0 || !double.IsFinite(c))) continue;
            var residual = y - x * coefficients;
            double sse = residual.DotProduct(residual);
            if (sse >= best.Sse) continue;
            var all = new double[3];
            for (int k = 0; k < used.Length; k++) all[used[k]] = coefficients[k];
            best = (all[0], all[1], all[2], sse);
        }
        return best;
    }
}
