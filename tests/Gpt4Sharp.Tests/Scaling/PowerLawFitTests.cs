using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

public class PowerLawFitTests
{
    static double[] Compute(int n, double from, double to) =>
        Enumerable.Range(0, n).Select(i => from * Math.Pow(to / from, (double)i / (n - 1))).ToArray();

    [Theory]
    [InlineData(12.0, 0.08, 1.6)]
    [InlineData(300.0, 0.3, 0.9)]
    [InlineData(5.0, 0.05, 0.0)]
    public void RecoversExactParameters(double a, double b, double c)
    {
        var x = Compute(6, 1e9, 1e11);
        var law = new PowerLaw(a, b, c);
        var fit = PowerLawFit.Fit(x, x.Select(law.At).ToArray());
        Assert.Equal(a, fit.Law.A, a * 1e-3);
        Assert.Equal(b, fit.Law.B, 1e-4);
        Assert.Equal(c, fit.Law.C, 1e-3);
        Assert.True(fit.RootMeanSquareError < 1e-6);
    }

    [Fact]
    public void NoisyPointsStillExtrapolateCloseToTheTruth()
    {
        var truth = new PowerLaw(40, 0.12, 1.2);
        var x = Compute(8, 1e9, 1e10);
        var rng = new Random(7);
        var y = x.Select(v => truth.At(v) * (1 + 0.003 * (rng.NextDouble() * 2 - 1))).ToArray();
        var fit = PowerLawFit.Fit(x, y);
        double target = 3e11; // 30x the largest fitted point
        Assert.InRange(fit.Law.At(target) / truth.At(target), 0.97, 1.03);
        Assert.True(fit.RootMeanSquareError > 0);
    }

    [Fact]
    public void ConstantIsNeverNegative()
    {
        // Falls faster than any positive-offset power law at this curvature: the fit stays at c = 0.
        var x = Compute(5, 1, 100);
        var fit = PowerLawFit.Fit(x, x.Select(v => 3 * Math.Pow(v, -0.5) - 0.2).ToArray());
        Assert.True(fit.Law.C >= 0);
        Assert.True(fit.Law.A > 0 && fit.Law.B > 0);
    }

    [Fact]
    public void TooFewPointsIsAUserError()
    {
        var e = Assert.Throws<UserError>(() => PowerLawFit.Fit([1.0, 2.0], [3.0, 2.0]));
        Assert.Contains("at least 3 points", e.Message);
    }

    [Fact]
    public void PassRateMetricSmoothsUnsolvedProblems()
    {
        var score = CodePassRate.Score([0, 10, 5], 10);
        double expected = -(Math.Log(1.0 / 12) + Math.Log(11.0 / 12) + Math.Log(6.0 / 12)) / 3;
        Assert.Equal(expected, score.MeanLogPassRate, 1e-12);
        Assert.Equal(0.5, score.MeanPassRate, 1e-12);
        Assert.Equal(15, score.Passed);
    }
}
