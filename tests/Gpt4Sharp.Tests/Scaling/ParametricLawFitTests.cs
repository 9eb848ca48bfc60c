using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

public class ParametricLawFitTests
{
    /// <summary>Every (size, tokens) pair of a grid, as a sweep's learning curves give them.</summary>
    static List<LossObservation> Grid(ParametricLaw law, Func<double, double>? noise = null) =>
        [.. new[] { 1e4, 2e4, 4e4, 8e4 }.SelectMany(n => Enumerable.Range(0, 12).Select(i => 5e4 * Math.Pow(2e6 / 5e4, i / 11.0))
            .Select(d => new LossObservation(n, d, (noise ?? (v => v))(law.At(n, d)))))];

    [Theory]
    [InlineData(0.4, 400.0, 0.6, 900.0, 0.45)] // Chinchilla-like: both terms matter
    [InlineData(1.7, 50.0, 0.3, 3e3, 0.7)]
    [InlineData(0.0, 2e3, 0.9, 60.0, 0.3)]     // no irreducible term
    public void RecoversKnownParameters(double e, double a, double alpha, double b, double beta)
    {
        var truth = new ParametricLaw(e, a, alpha, b, beta);
        var fit = ParametricLawFit.Fit(Grid(truth));
        Assert.Equal(e, fit.Law.E, 1e-3);
        Assert.Equal(alpha, fit.Law.Alpha, 1e-3);
        Assert.Equal(beta, fit.Law.Beta, 1e-3);
        Assert.Equal(1, fit.Law.A / a, 1e-2);
        Assert.Equal(1, fit.Law.B / b, 1e-2);
        Assert.True(fit.RootMeanSquareError < 1e-6);
        Assert.Equal(48, fit.Points);
    }

    [Fact]
    public void NoisyCurvesStillPredictALargerLongerRun()
    {
        var truth = new ParametricLaw(0.4, 400, 0.6, 900, 0.45);
        var rng = new Random(11);
        var fit = ParametricLawFit.Fit(Grid(truth, v => v * (1 + 0.002 * (rng.NextDouble() * 2 - 1))));
        // 4x the largest size and 2x the longest run, as the sweep's held-out run.
        Assert.InRange(fit.Law.At(3.2e5, 4e6) / truth.At(3.2e5, 4e6), 0.97, 1.03);
        Assert.True(fit.RootMeanSquareError > 0);
    }

    [Fact]
    public void CoefficientsAreNeverNegative()
    {
        // Loss that rises with model size: the best non-negative fit drops the size term instead of flipping its sign.
        var points = Grid(new ParametricLaw(0.5, 0, 0.5, 900, 0.45)).Select(p => p with { Loss = p.Loss + 1e-6 * p.Parameters }).ToList();
        var law = ParametricLawFit.Fit(points).Law;
        Assert.True(law.E >= 0 && law.A >= 0 && law.B >= 0);
    }

    [Fact]
    public void TwoSizesAreAUserError()
    {
        var points = Grid(new ParametricLaw(0.4, 400, 0.6, 900, 0.45)).Where(p => p.Parameters < 3e4).ToList();
        var e = Assert.Throws<UserError>(() => ParametricLawFit.Fit(points));
        Assert.Contains("at least 3 model sizes", e.Message);
    }
}
