using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

/// <summary>The two loss predictors, the headline chosen by their backtests, and seed averaging — on a synthetic IsoFLOP grid.</summary>
public class PredictorChoiceTests
{
    static readonly ScalingSettings Settings = new() { BudgetSpan = 27, FrontierPoints = 7, FrontierSpan = 27, HeadlineByBacktest = true };

    /// <summary>Seven budgets over 27x (compute 6·N·D); at each, four sizes around 20 tokens per parameter, each finished with loss <paramref name="loss"/>(N, D).</summary>
    static List<SweepPoint> Runs(Func<double, double, double> loss, long seed = 0)
    {
        double top = 6.0 * 80_000 * 20 * 80_000;
        return [.. Enumerable.Range(0, 7).SelectMany(k =>
        {
            double budget = top / Math.Pow(27, (6 - k) / 6.0), optimal = Math.Sqrt(budget / 120);
            return new[] { 0.4, 0.8, 1.6, 3.2 }.Select(f =>
            {
                double n = Math.Round(optimal * f), tokens = Math.Round(budget / (6 * n));
                var plan = new SweepRunPlan($"fit-{k}-{f}", (int)n, (long)n, (long)tokens, k * 10 + (int)(f * 2), budget, false) { Seed = seed };
                return new SweepPoint(plan, plan.Tokens, budget, loss(n, tokens), CodePassRate.Score([0], 1), 1) { FinalCodeNll = 1 };
            });
        })];
    }

    static SweepRunPlan HeldOut(IReadOnlyList<SweepPoint> fitted)
    {
        double compute = 30 * fitted.Max(p => p.Compute), n = Math.Sqrt(compute / 120);
        return new SweepRunPlan("target", 400, (long)n, (long)(compute / (6 * n)), 1000, compute, true);
    }

    [Fact]
    public void RunsFromAParametricLawMakeItTheHeadlineAndItPredictsTheHeldOutRun()
    {
        // Unequal exponents: the compute-optimal size grows as C^(0.9/1.2), faster than the grid's C^0.5, so every
        // IsoFLOP profile sits off-centre and the frontier drawn from them is no exact a·C^(−b) + c.
        var law = new ParametricLaw(0.45, 30, 0.3, 3e4, 0.9);
        var fitted = Runs(law.At);
        var target = HeldOut(fitted);
        var p = ScalingSweep.Predict(Settings, fitted, target);

        Assert.Equal(1, p.Parametric!.Predicted / law.At(target.Parameters, target.Tokens), 2e-3);
        Assert.InRange(p.ParametricBacktest!.RelativeError!.Value, 0, 3e-3);
        // The frontier backtest is therefore worse and the parametric law leads.
        Assert.True(p.Backtest.RelativeError > p.ParametricBacktest.RelativeError);
        Assert.Equal(ScalingSweep.ParametricPredictor, p.Headline);
        // The frontier-law prediction is still made and kept beside it, and it is the headline unless the backtests choose.
        Assert.Equal(p.Loss.Predicted, ScalingSweep.Predict(Settings, fitted, target.Compute).Loss.Predicted);
        var byDefault = ScalingSweep.Predict(Settings with { HeadlineByBacktest = false }, fitted, target);
        Assert.Equal(ScalingSweep.FrontierPredictor, byDefault.Headline);
        Assert.Equal(p.Loss.Predicted, byDefault.HeadlinePredicted);
    }

    [Fact]
    public void RunsOnAComputeLawKeepTheFrontierLawAsHeadline()
    {
        // Loss that depends on compute alone (6·N·D): every profile is flat, the frontier is exactly this law, L(N, D) cannot be.
        var law = new PowerLaw(5e3, 0.35, 0.6);
        var fitted = Runs((n, d) => law.At(6 * n * d));
        var p = ScalingSweep.Predict(Settings, fitted, HeldOut(fitted));

        Assert.InRange(p.Backtest.RelativeError!.Value, 0, 1e-3);
        Assert.True(p.ParametricBacktest!.RelativeError > p.Backtest.RelativeError);
        Assert.Equal(ScalingSweep.FrontierPredictor, p.Headline);
        Assert.Equal(1, p.Loss.Predicted / law.At(HeldOut(fitted).Compute), 5e-3);
    }

    [Fact]
    public void SeedsOfOneRunAreFittedAsTheirMean()
    {
        var law = new ParametricLaw(0.45, 300, 0.55, 2000, 0.5);
        // Two seeds scattering by ±2 % around the law in opposite directions: their mean is the law.
        var seeds = Runs((n, d) => law.At(n, d) * 1.02, seed: 1).Concat(Runs((n, d) => law.At(n, d) * 0.98, seed: 2)).ToList();
        var exact = Runs(law.At);
        var target = HeldOut(exact);
        var fromSeeds = ScalingSweep.Predict(Settings, seeds, target);
        var fromMean = ScalingSweep.Predict(Settings, exact, target);
        Assert.Equal(fromMean.Loss.Predicted, fromSeeds.Loss.Predicted, 1e-9);
        Assert.Equal(fromMean.Parametric!.Predicted, fromSeeds.Parametric!.Predicted, 1e-9);
        // One observation per run reaches the fit, not one per seed.
        Assert.Equal(fromMean.Parametric.Fit.Points, fromSeeds.Parametric.Fit.Points);
    }
}
