using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Scaling;

public class ScalingSweepTests
{
    static ScalingSettings Micro(string dir) => ScalingSettings.Tiny(dir);

    [Fact]
    public void PlanRejectsRunsThatWouldEndInsideTheirWarmup()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { WarmupSteps = 500 };
        var e = Assert.Throws<UserError>(() => ScalingSweep.Plan(settings, 300));
        Assert.Contains("--tokens-per-param", e.Message);
    }

    [Fact]
    public void PlanGivesEveryFittedRunTheSameComputeAndTheTargetTheRatio()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { FittedWidths = [8, 16, 24], TargetWidth = 48, TokensPerParameter = 20, MinComputeRatio = 30 };
        var plans = ScalingSweep.Plan(settings, 300);
        Assert.Equal(4, plans.Count);
        Assert.True(plans[^1].HeldOut && plans.Take(3).All(p => !p.HeldOut));
        var fitted = plans.Take(3).ToList();
        // Equal compute up to each run's rounding to whole steps; smaller models therefore train longer.
        Assert.All(fitted, p => Assert.InRange(p.Compute / fitted[^1].Compute, 1 - 1.0 / p.Steps - 1.0 / fitted[^1].Steps, 1 + 1.0 / p.Steps + 1.0 / fitted[^1].Steps));
        Assert.True(fitted[0].Steps > fitted[1].Steps && fitted[1].Steps > fitted[2].Steps);
        // The largest fitted width sees the requested tokens per parameter (to within a step).
        Assert.InRange((double)fitted[^1].Tokens / fitted[^1].Parameters, 20 - 64.0 / fitted[^1].Parameters, 20 + 64.0 / fitted[^1].Parameters);
        double ratio = plans[^1].Compute / fitted.Max(p => p.Compute);
        Assert.InRange(ratio, 30, 30 * (1 + 1.0 / plans[^1].Steps));
    }

    [Fact]
    public void ExtraFitSeedsRepeatEveryFittedPlanWithItsOwnSeed()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { FitSeeds = 2, Seed = 5 };
        var plans = ScalingSweep.Plan(settings, 300);
        var fitted = plans.Where(p => !p.HeldOut).ToList();
        Assert.Equal(6, fitted.Count);
        Assert.Equal(fitted.Take(3).Select(p => p with { Name = "", Seed = 0 }), fitted.Skip(3).Select(p => p with { Name = "", Seed = 0 }));
        Assert.Equal([5L, 5, 5, 6, 6, 6], fitted.Select(p => p.Seed));
        Assert.Equal("fit-d4-seed2", fitted[3].Name);
        // The held-out run trains once, with the sweep's seed, at the ratio over one fitted run.
        Assert.Equal(5, plans[^1].Seed);
        Assert.InRange(plans[^1].Compute / fitted.Max(p => p.Compute), 3, 3 * (1 + 1.0 / plans[^1].Steps));
    }

    [Fact]
    public async Task ASweepThatWouldRepeatDataIsRefusedBeforeTraining()
    {
        var observer = new Recorder();
        var e = await Assert.ThrowsAsync<UserError>(() => ScalingSweep.RunAsync(Micro(RepoPaths.NewTempDir()) with { CorpusDocuments = 20 }, observer));
        Assert.Contains("--corpus-docs", e.Message);
        Assert.Empty(observer.Events);
    }

    [Fact]
    public async Task MicroSweepWritesPredictionsResultsAndReport()
    {
        if (PythonSandbox.FindOnPath("python3") is null) return; // python3 absent (./test.sh installs it)
        var dir = RepoPaths.NewTempDir();
        var observer = new Recorder();
        var result = await ScalingSweep.RunAsync(Micro(dir), observer);

        Assert.Equal(4, result.Points.Count);
        // The prediction was announced before the held-out run trained.
        Assert.Equal(["fit-d4", "fit-d6", "fit-d8", "predicted", "target-d16"], observer.Events);
        Assert.All(result.Points, p => Assert.True(double.IsFinite(p.FinalLoss) && p.Compute > 0));
        Assert.Equal(result.Points[^1].FinalLoss, result.Loss.Actual);
        Assert.NotNull(result.Loss.RelativeError);
        Assert.InRange(result.Points[0].Code.MeanLogPassRate, 0, Math.Log(4));
        Assert.All(result.Points, p => Assert.True(p.Curve.Count >= 2 && p.Curve[^1].Loss == p.FinalLoss && p.FinalCodeNll > 0));
        Assert.Equal(result.Points[^1].FinalCodeNll, result.Code.Actual);
        Assert.True(result.Loss.Frontier.Count >= 3);
        // The parametric predictor was made too, for the held-out run's size and tokens, and one predictor leads.
        Assert.Equal(result.Points[^1].Plan.Parameters, result.LossParametric!.Parameters);
        Assert.Equal(result.Points[^1].FinalLoss, result.LossParametric.Actual);
        Assert.NotNull(result.ParametricBacktest!.RelativeError);
        Assert.Contains(result.HeadlinePredictor, new[] { ScalingSweep.FrontierPredictor, ScalingSweep.ParametricPredictor });
        // Nothing of the held-out run reaches the fit: every frontier point comes from a fitted run.
        Assert.All(result.Loss.Frontier.Concat(result.Code.Frontier), f => Assert.StartsWith("fit-", f.Run));

        var report = ScalingReport.Save(result, dir);
        Assert.True(File.Exists(report));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(dir, "charts"), "*.png").Length);
        var json = Results.Read(dir);
        Assert.Equal(4, json["runs"]!.AsArray().Count);
        Assert.Equal(result.Loss.Predicted, json["loss"]!["predicted"]!.GetValue<double>());
        Assert.Equal(result.LossParametric.Predicted, json["loss_parametric"]!["predicted"]!.GetValue<double>());
        Assert.Equal(result.HeadlineLossPredicted, json["headline_loss_predicted"]!.GetValue<double>());
    }

    sealed class Recorder : ISweepObserver
    {
        public List<string> Events { get; } = [];
        public void RunFinished(SweepPoint point) => Events.Add(point.Plan.Name);
        public void Predicted(Prediction loss, Prediction code) => Events.Add("predicted");
    }
}
