using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

public class ComputeFrontierTests
{
    static IReadOnlyList<(double Compute, double Value)> Curve(params (double, double)[] points) => points;

    [Fact]
    public void FrontierTakesTheLowestCurveAtEachCompute()
    {
        // A small model is better early, a large one later: the frontier switches from one to the other.
        var small = Curve((1, 4.0), (10, 2.0), (100, 1.6));
        var large = Curve((1, 5.0), (10, 2.5), (100, 1.2));
        var frontier = ComputeFrontier.Build([("small", small), ("large", large)], 1, 100, 3);
        Assert.Equal(["small", "small", "large"], frontier.Select(f => f.Run));
        Assert.Equal([4.0, 2.0, 1.2], frontier.Select(f => f.Value));
        Assert.Equal(100, frontier[^1].Compute, 1e-9);
    }

    [Fact]
    public void CurvesInterpolateInLogComputeAndCountOnlyInsideTheirRange()
    {
        var curve = Curve((10, 3.0), (1000, 1.0));
        Assert.Equal(2.0, ComputeFrontier.At(curve, 100)!.Value, 1e-12);
        Assert.Null(ComputeFrontier.At(curve, 5));
        Assert.Null(ComputeFrontier.At(curve, 2000));
        // A grid point below every curve's range is left out rather than extrapolated.
        var frontier = ComputeFrontier.Build([("only", curve)], 1, 1000, 4);
        Assert.Equal([10.0, 100.0, 1000.0], frontier.Select(f => Math.Round(f.Compute, 6)));
    }

    [Fact]
    public void CurveStepsAreLogSpacedFromTheEndOfWarmupAndEndAtTheLastStep()
    {
        var settings = new ScalingSettings { WarmupSteps = 10, CurvePoints = 5 };
        var steps = settings.CurveSteps(2000);
        Assert.Equal(20, steps[0]);
        Assert.Equal(2000, steps[^1]);
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.Second > p.First));
        // Equal ratios between neighbours (up to rounding): log spacing.
        var ratios = steps.Zip(steps.Skip(1), (a, b) => (double)b / a).ToList();
        Assert.All(ratios, r => Assert.InRange(r, ratios[0] * 0.95, ratios[0] * 1.05));
    }

    [Fact]
    public void PredictionUsesOnlyTheFittedRunsAndRecoversAKnownLaw()
    {
        // Runs of growing compute whose curves all lie on one law: the frontier is that law and so is the fit.
        var law = new PowerLaw(30, 0.2, 0.8);
        var settings = new ScalingSettings { FrontierSpan = 100, FrontierPoints = 10 };
        var fitted = new[] { 1e9, 3e9, 1e10 }.Select((top, i) =>
        {
            var curve = Enumerable.Range(0, 80).Select(k => top / 200 * Math.Pow(200, k / 79.0))
                .Select((c, k) => new CurvePoint(k, c, law.At(c), law.At(c) * 10)).ToList();
            var plan = new SweepRunPlan($"fit-{i}", 8 * (i + 1), 1000, 1000, 100, top, false);
            return new SweepPoint(plan, 1000, top, curve[^1].Loss, CodePassRate.Score([0], 1), 1) { Curve = curve, FinalCodeNll = curve[^1].CodeNll };
        }).ToList();
        var (loss, code, backtest, bySpan) = ScalingSweep.Predict(settings, fitted, 3e11);
        Assert.Equal(law.At(3e11), loss.Predicted, 1e-3);
        Assert.Equal(10 * law.At(3e11), code.Predicted, 1e-2);
        Assert.All(loss.Frontier, f => Assert.InRange(f.Compute, 1e8 * 0.999, 1e10 * 1.001));
        Assert.InRange(backtest.RelativeError!.Value, 0, 1e-3);
        Assert.Equal(ScalingSweep.SensitivitySpans.Count, bySpan.Count);
        Assert.All(bySpan, p => Assert.Equal(law.At(3e11), p.Predicted, 2e-3));
    }
}
