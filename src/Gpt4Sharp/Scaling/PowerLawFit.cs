namespace Gpt4Sharp.Scaling;

/// <summary>y = a·x^(−b) + c, the scaling-law form of the GPT-4 report (x is training compute).</summary>
public sealed record PowerLaw(double A, double B, double C)
{
    public double At(double x) => A * Math.Pow(x, -B) + C;

    public override string ToString() => $"{A:G4}·C^(−{B:G4}) + {C:G4}";
}

/// <summary>A fitted law and how well it matches the points it was fitted on.</summary>
public sealed record PowerLawFitResult(PowerLaw Law, double RootMeanSquareError, int Points);

/// <summary>
/// Least-squares fit of y = a·x^(−b) + c by variable projection (Golub and Pereyra): for a fixed
/// exponent b the model is linear in (a, c), so those have a closed form and the sum of squared
/// residuals becomes a function of b alone, minimised by a log-spaced scan plus golden-section
/// refinement. Written by hand because the whole problem is one-dimensional after projection;
/// a general Levenberg–Marquardt (e.g. Math.NET's) would need a starting guess that decides which
/// local minimum it finds and a dependency for ~40 lines. Constraints: a ≥ 0, b > 0 and c ≥ 0
/// (an irreducible term below zero is meaningless for losses and −log pass rates).
/// </summary>
public static class PowerLawFit
{
    const double MinExponent = 1e-4, MaxExponent = 4;

    public static PowerLawFitResult Fit(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"power-law fit needs as many x as y values (got {x.Count} and {y.Count})");
        if (x.Count < 3) throw new UserError($"A three-parameter power law needs at least 3 points to fit (got {x.Count}); train more sweep sizes.");
        if (x.Any(v => !(v > 0) || !double.IsFinite(v)) || y.Any(v => !double.IsFinite(v)))
            throw new UserError("Power-law fitting needs positive, finite compute values and finite measurements; a run produced an invalid value.");

        // Work with x scaled to its geometric mean so x^(−b) stays near 1 for every b scanned.
        double scale = Math.Exp(x.Average(v => Math.Log(v)));
        var u = x.Select(v => v / scale).ToArray();
        var ys = y.ToArray();

        // Scan log b, then refine around the best grid point with golden-section search.
        const int grid = 400;
        double Sse(double b) => Solve(u, ys, b).Sse;
        double bestLog = 0, bestSse = double.PositiveInfinity;
        for (int i = 0; i <= grid; i++)
        {
            double lb = Math.Log(MinExponent) + (Math.Log(MaxExponent) - Math.Log(MinExponent)) * i / grid;
            double s = Sse(Math.Exp(lb));
            if (s < bestSse) (bestSse, bestLog) = (s, lb);
        }
        double step = (Math.Log(MaxExponent) - Math.Log(MinExponent)) / grid;
        double lo = Math.Max(Math.Log(MinExponent), bestLog - step), hi = Math.Min(Math.Log(MaxExponent), bestLog + step);
        double golden = (Math.Sqrt(5) - 1) / 2;
        for (int i = 0; i < 100 && hi - lo > 1e-12; i++)
        {
            double m1 = hi - golden * (hi - lo), m2 = lo + golden * (hi - lo);
            if (Sse(Math.Exp(m1)) < Sse(Math.Exp(m2))) hi = m2; else lo = m1;
        }
        double b = Math.Exp((lo + hi) / 2);
        var (aScaled, c, sse) = Solve(u, ys, b);
        // a·(x/scale)^(−b) = (a·scale^b)·x^(−b)
        var law = new PowerLaw(aScaled * Math.Pow(scale, b), b, c);
        return new PowerLawFitResult(law, Math.Sqrt(sse / x.Count), x.Count);
    }

    /// <summary>Least-squares (a, c) for a fixed b, with a ≥ 0 and c ≥ 0 enforced by fitting the boundary when violated.</summary>
    static (double A, double C, double Sse) Solve(double[] u, double[] y, double b)
    {
        int n = u.Length;
        var t = u.Select(v => Math.Pow(v, -b)).ToArray();
        double mt = t.Average(), my = y.Average();
        double stt = 0, sty = 0;
        for (int i = 0; i < n; i++) { stt += (t[i] - mt) * (t[i] - mt); sty += (t[i] - mt) * (y[i] - my); }
        double a = stt > 0 ? sty / stt : 0, c = my - a * mt;
        if (c < 0)
        {
            // Boundary c = 0: y = a·t through the origin.
            c = 0;
            double tt = t.Sum(v => v * v);
            a = tt > 0 ? t.Zip(y, (p, q) => p * q).Sum() / tt : 0;
        }
        if (a < 0) (a, c) = (0, Math.Max(0, my));
        double sse = 0;
        for (int i = 0; i < n; i++) { double r = y[i] - (a * t[i] + c); sse += r * r; }
        return (a, c, sse);
    }
}
