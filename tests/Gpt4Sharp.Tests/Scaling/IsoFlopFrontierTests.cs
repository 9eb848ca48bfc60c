using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

public class IsoFlopFrontierTests
{
    [Fact]
    public void EachBudgetsPointIsTheVertexOfItsParabolaInLogParameters()
    {
        // Loss = 2 + 0.5·(ln N − ln 30,000)² at budget 1e10 (minimum between the trained sizes),
        // and a profile at 1e11 whose best size is trained: both minima are recovered exactly.
        static double Profile(double n, double best, double floor) => floor + 0.5 * Math.Pow(Math.Log(n / best), 2);
        var runs = new[] { 10_000.0, 20_000, 40_000, 80_000 }.Select(n => new IsoFlopRun($"a{n}", 1e10, n, Profile(n, 30_000, 2)))
            .Concat(new[] { 20_000.0, 40_000, 80_000 }.Select(n => new IsoFlopRun($"b{n}", 1e11 * (1 + 1e-3 * n / 80_000), n, Profile(n, 40_000, 1.5))))
            .ToList();
        var frontier = IsoFlopFrontier.Build(runs);
        Assert.Equal(2, frontier.Count);
        Assert.Equal(2.0, frontier[0].Value, 1e-9);
        Assert.Equal("a40000", frontier[0].Run); // the best trained size of the profile
        Assert.Equal(1.5, frontier[1].Value, 1e-9);
        Assert.InRange(frontier[1].Compute, 1e11, 1e11 * 1.001); // runs within the budget tolerance share one profile
    }

    [Fact]
    public void AnUnbracketedOrTooSmallProfileFallsBackToItsBestRun()
    {
        // Loss falls with size throughout: the parabola's vertex lies beyond the largest size and is not extrapolated.
        var falling = new[] { 10_000.0, 20_000, 40_000 }.Select(n => new IsoFlopRun($"n{n}", 1e10, n, 5 - Math.Log(n) + 0.01 * Math.Pow(Math.Log(n), 2))).ToList();
        Assert.Null(IsoFlopFrontier.Minimum(falling));
        Assert.Equal(falling.Min(r => r.Value), IsoFlopFrontier.Build(falling)[0].Value);
        // Two sizes cannot bracket anything; a parabola opening downwards has no minimum.
        Assert.Null(IsoFlopFrontier.Minimum([new("x", 1, 10, 2), new("y", 1, 20, 1)]));
        Assert.Null(IsoFlopFrontier.Minimum([new("x", 1, 10, 1), new("y", 1, 20, 2), new("z", 1, 40, 1)]));
        Assert.Equal(1.0, IsoFlopFrontier.Build([new("x", 1, 10, 1), new("y", 1, 20, 2), new("z", 1, 40, 1)])[0].Value);
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
        // Three sizes at each of five budgets over 81x; the best size of each budget lies on one law, the others above it.
        var law = new PowerLaw(30, 0.2, 0.8);
        var settings = new ScalingSettings { BudgetSpan = 81, FrontierPoints = 5, FrontierSpan = 81 };
        var fitted = Enumerable.Range(0, 5).SelectMany(k =>
        {
            double budget = 1e8 * Math.Pow(3, k);
            return new[] { 0.5, 1, 2 }.Select(f =>
            {
                double n = 1e4 * Math.Pow(Math.Sqrt(3), k) * f, loss = law.At(budget) + 0.05 * Math.Pow(Math.Log(f), 2);
                var plan = new SweepRunPlan($"fit-{k}-{f}", (int)(n / 100), (long)n, (long)(budget / (6 * n)), 100 + k, budget, false);
                return new SweepPoint(plan, plan.Tokens, budget, loss, CodePassRate.Score([0], 1), 1) { FinalCodeNll = 10 * loss };
            });
        }).ToList();
        var (loss, code, backtest, bySpan) = ScalingSweep.Predict(settings, fitted, 3e11);
        Assert.Equal(law.At(3e11), loss.Predicted, 1e-6);
        Assert.Equal(10 * law.At(3e11), code.Predicted, 1e-5);
        Assert.Equal(5, loss.Frontier.Count);
        Assert.All(loss.Frontier, f => Assert.EndsWith("-1", f.Run));
        Assert.InRange(backtest.RelativeError!.Value, 0, 1e-6);
        Assert.Equal(law.At(8.1e9), backtest.Actual!.Value, 1e-9);
        // Span 3 holds two budgets only and is skipped; spans 9 and 27 hold three and four.
        Assert.Equal(2, bySpan.Count);
        Assert.All(bySpan, p => Assert.Equal(law.At(3e11), p.Predicted, 1e-5));
    }
}
