using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Tests.Support;
using Recorder = Gpt4Sharp.Tests.Scaling.ScalingSweepTests.Recorder;

namespace Gpt4Sharp.Tests.Scaling;

/// <summary>The tiny sweep trained once, sequentially and uninterrupted: the reference every other way of running it must reproduce.</summary>
public sealed class TinySweepFixture
{
    readonly Lazy<Task<(ScalingResult Result, string Directory, IReadOnlyList<string> Events)>> baseline = new(async () =>
    {
        var dir = RepoPaths.NewTempDir();
        var observer = new Recorder();
        var result = await ScalingSweep.RunAsync(ScalingSettings.Tiny(dir), observer);
        return (result, dir, observer.Events);
    });

    public Task<(ScalingResult Result, string Directory, IReadOnlyList<string> Events)> Baseline => baseline.Value;
}

public class SweepRunTests(TinySweepFixture tiny) : IClassFixture<TinySweepFixture>
{
    static bool PythonMissing => PythonSandbox.FindOnPath("python3") is null; // ./test.sh installs it

    [Fact]
    public async Task MicroSweepWritesPredictionsResultsAndReport()
    {
        if (PythonMissing) return;
        var (result, dir, events) = await tiny.Baseline;

        // The tiny grid's four budgets, then the held-out run.
        Assert.Equal(4, result.Points.SkipLast(1).Select(p => p.Plan.Budget).Distinct().Count());
        // The prediction was announced before the held-out run trained.
        Assert.Equal(result.Points.SkipLast(1).Select(p => p.Plan.Name).Append("predicted").Append("target-d16"), events);
        Assert.All(result.Points, p => Assert.True(double.IsFinite(p.FinalLoss) && p.Compute > 0));
        Assert.Equal(result.Points[^1].FinalLoss, result.Loss.Actual);
        Assert.Equal([result.Points[^1]], result.HeldOutRuns);
        Assert.Null(result.HeldOutLossStandardDeviation);
        Assert.NotNull(result.Loss.RelativeError);
        Assert.InRange(result.Points[0].Code.MeanLogPassRate, 0, Math.Log(4));
        Assert.All(result.Points, p => Assert.True(p.Curve.Count >= 2 && p.Curve[^1].Loss == p.FinalLoss && p.FinalCodeNll > 0));
        Assert.Equal(result.Points[^1].FinalCodeNll, result.Code.Actual);
        Assert.Equal(4, result.Loss.Frontier.Count);
        // The parametric predictor was made too, for the held-out run's size and tokens, and one predictor leads.
        Assert.Equal(result.Points[^1].Plan.Parameters, result.LossParametric!.Parameters);
        Assert.Equal(result.Points[^1].FinalLoss, result.LossParametric.Actual);
        Assert.NotNull(result.ParametricBacktest!.RelativeError);
        // The mixture of per-family laws leads by default.
        Assert.Equal(ScalingSweep.MixturePredictor, result.HeadlinePredictor);
        Assert.Equal(result.LossMixture!.Predicted, result.HeadlineLossPredicted);
        Assert.Equal(result.LossMixture.RelativeError, result.HeadlineLossError);
        // Nothing of the held-out run reaches the fit: every frontier point comes from a fitted run.
        Assert.All(result.Loss.Frontier.Concat(result.Code.Frontier), f => Assert.StartsWith("fit-", f.Run));
        // Every run's results and the sweep's settings were saved for --resume.
        Assert.All(result.Points, p => Assert.True(File.Exists(Path.Combine(dir, "runs", p.Plan.Name, "point.json"))));
        Assert.True(File.Exists(Path.Combine(dir, "sweep.json")));

        // Every run's final loss split by data family: shares sum to 1 and the share-weighted family losses are the total
        // (the same tokens, summed per token instead of per batch, so equal up to float rounding).
        Assert.All(result.Points, p =>
        {
            Assert.NotEmpty(p.FamilyLosses);
            Assert.Equal(1, p.FamilyLosses.Sum(f => f.Share), 1e-12);
            Assert.Equal(p.FinalLoss, p.FamilyLosses.Sum(f => f.Share * f.Loss), 1e-5);
        });
        var mixture = result.LossMixture!;
        Assert.Equal(result.Points[0].FamilyLosses.Select(f => f.Family), mixture.Families.Select(f => f.Family));
        Assert.Equal(result.Loss.Actual, mixture.Actual);
        Assert.All(mixture.Families, f => Assert.Equal(result.Points[^1].FamilyLossOf(f.Family), f.Law.Actual));

        var report = ScalingReport.Save(result, dir);
        Assert.True(File.Exists(report));
        Assert.Equal(3 + mixture.Families.Count, Directory.GetFiles(Path.Combine(dir, "charts"), "*.png").Length);
        var json = Results.Read(dir);
        Assert.Equal(result.Points.Count, json["runs"]!.AsArray().Count);
        Assert.Equal(result.Loss.Predicted, json["loss"]!["predicted"]!.GetValue<double>());
        Assert.Equal(result.LossParametric.Predicted, json["loss_parametric"]!["predicted"]!.GetValue<double>());
        Assert.Equal(result.HeadlineLossPredicted, json["headline_loss_predicted"]!.GetValue<double>());
        Assert.Equal(1, json["held_out_seeds"]!.GetValue<int>());
        Assert.Equal(mixture.Predicted, json["loss_mixture"]!["predicted"]!.GetValue<double>());
        Assert.Equal(result.Points[0].FamilyLosses[0].Loss, json["runs"]![0]!["family_losses"]![0]!["validation_loss"]!.GetValue<double>());
    }

    [Fact]
    public async Task ASweepSavedBeforeFamilyLossesResumesWithoutTheMixture()
    {
        if (PythonMissing) return;
        var (baseline, baselineDir, _) = await tiny.Baseline;
        var dir = RepoPaths.NewTempDir();
        var settings = ScalingSettings.Tiny(dir);
        // The baseline's saved runs as an earlier version wrote them: no family_losses; its held-out run is still to train.
        var sweep = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(baselineDir, SweepStore.SettingsFile)))!.AsObject();
        Assert.True(sweep.Remove("frontier_headline")); // a setting newer than such a sweep
        File.WriteAllText(Path.Combine(dir, SweepStore.SettingsFile), sweep.ToJsonString());
        foreach (var point in baseline.Points.Where(p => !p.Plan.HeldOut))
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(baselineDir, SweepStore.RunsDirectory, point.Plan.Name, SweepStore.PointFile)))!.AsObject();
            Assert.True(json.Remove("family_losses"));
            Directory.CreateDirectory(Path.Combine(dir, SweepStore.RunsDirectory, point.Plan.Name));
            File.WriteAllText(Path.Combine(dir, SweepStore.RunsDirectory, point.Plan.Name, SweepStore.PointFile), json.ToJsonString());
        }
        CopySharedData(baselineDir, dir);

        var observer = new Recorder();
        var result = await ScalingSweep.RunAsync(settings with { Resume = true }, observer);
        Assert.Equal(["predicted", "target-d16"], observer.Events);
        Assert.Null(result.LossMixture);
        Assert.Equal(ScalingSweep.FrontierPredictor, result.HeadlinePredictor); // without family losses the frontier law leads
        Assert.All(result.Points.Where(p => !p.Plan.HeldOut), p => Assert.Empty(p.FamilyLosses));
        Assert.Equal(baseline.Points.Select(p => p.FinalLoss), result.Points.Select(p => p.FinalLoss));
        Assert.Equal(baseline.Loss with { Frontier = [] }, result.Loss with { Frontier = [] });
        ScalingReport.Save(result, dir);
        Assert.Null(Results.Read(dir)["loss_mixture"]);
    }

    static void CopySharedData(string from, string to)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(from, "shared"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public async Task TwoWorkersGiveBitIdenticalResultsToOne()
    {
        if (PythonMissing) return;
        var (baseline, _, _) = await tiny.Baseline;
        var observer = new Recorder();
        var parallel = await ScalingSweep.RunAsync(ScalingSettings.Tiny(RepoPaths.NewTempDir()) with { Workers = 2 }, observer);

        AssertSameResults(baseline, parallel);
        // Runs may finish in any order, but the prediction still came after every fitted run and before the held-out one.
        Assert.Equal(baseline.Points.SkipLast(1).Select(p => p.Plan.Name).Order(), observer.Events.SkipLast(2).Order());
        Assert.Equal(["predicted", "target-d16"], observer.Events.TakeLast(2));
    }

    [Fact]
    public async Task AnInterruptedSweepResumesToTheSameResultsAndCanAddHeldOutSeeds()
    {
        if (PythonMissing) return;
        var (baseline, _, _) = await tiny.Baseline;
        var dir = RepoPaths.NewTempDir();
        var settings = ScalingSettings.Tiny(dir) with { Workers = 2 };

        // Stopped after three finished runs; the run still training on the other worker stops too and is not saved.
        using var stop = new CancellationTokenSource();
        var interrupted = new Recorder { AfterRun = finished => { if (finished == 3) stop.Cancel(); } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ScalingSweep.RunAsync(settings, interrupted, stop.Token));
        int saved = Directory.GetDirectories(Path.Combine(dir, "runs")).Length;
        Assert.InRange(saved, 3, 4);
        Assert.DoesNotContain("predicted", interrupted.Events);

        // Without --resume the directory is refused, and the message names the option.
        var refused = await Assert.ThrowsAsync<UserError>(() => ScalingSweep.RunAsync(settings));
        Assert.Contains("--resume", refused.Message);

        var resumed = new Recorder();
        var result = await ScalingSweep.RunAsync(settings with { Resume = true, Workers = 1 }, resumed);
        AssertSameResults(baseline, result);
        Assert.Equal(baseline.Points.Count - saved, resumed.Events.Count(e => e != "predicted")); // only the missing runs trained

        // Resuming the finished sweep with a second held-out seed trains just that run; the actual value becomes the seeds' mean.
        var twoSeeds = new Recorder();
        var extended = await ScalingSweep.RunAsync(settings with { Resume = true, HeldOutSeeds = 2 }, twoSeeds);
        Assert.Equal(["predicted", "target-d16-seed2"], twoSeeds.Events);
        Assert.Equal(result.Loss.Predicted, extended.Loss.Predicted);
        var heldOut = extended.HeldOutRuns;
        Assert.Equal([baseline.Points[^1].FinalLoss, heldOut[1].FinalLoss], heldOut.Select(p => p.FinalLoss));
        Assert.NotEqual(heldOut[0].FinalLoss, heldOut[1].FinalLoss); // another seed, another run
        Assert.Equal((heldOut[0].FinalLoss + heldOut[1].FinalLoss) / 2, extended.Loss.Actual!.Value, 1e-15);
        Assert.Equal((heldOut[0].FinalCodeNll + heldOut[1].FinalCodeNll) / 2, extended.Code.Actual!.Value, 1e-15);
        Assert.Equal(Math.Abs(heldOut[0].FinalLoss - heldOut[1].FinalLoss) / Math.Sqrt(2), extended.HeldOutLossStandardDeviation!.Value, 1e-12);
        Assert.Contains("2 seeds", ScalingReport.HeldOutSeedsLine(extended));
    }

    [Fact]
    public void AResumedSweepMustHaveItsOwnSettingsExceptWorkersAndHeldOutSeeds()
    {
        var dir = RepoPaths.NewTempDir();
        var settings = ScalingSettings.Tiny(dir);
        SweepStore.Open(settings);
        var e = Assert.Throws<UserError>(() => SweepStore.Open(settings with { Resume = true, Seed = 7 }));
        Assert.Contains("seed = 1337, not 7", e.Message);
        e = Assert.Throws<UserError>(() => SweepStore.Open(settings with { Resume = true, FittedWidths = [4, 6, 10] }));
        Assert.Contains("fitted_widths = [4,6,8], not [4,6,10]", e.Message);
        SweepStore.Open(settings with { Resume = true, Workers = 3, HeldOutSeeds = 2, FrontierHeadline = true });
        // A directory without a started sweep cannot be resumed.
        e = Assert.Throws<UserError>(() => SweepStore.Open(ScalingSettings.Tiny(RepoPaths.NewTempDir()) with { Resume = true }));
        Assert.Contains("drop --resume", e.Message);
    }

    [Fact]
    public void DamagedSavedFilesAreNamedInOneSentence()
    {
        var dir = RepoPaths.NewTempDir();
        var settings = ScalingSettings.Tiny(dir);
        var store = SweepStore.Open(settings);
        var plan = ScalingSweep.Plan(settings, settings.VocabSize)[0];
        var pointPath = Path.Combine(dir, SweepStore.RunsDirectory, plan.Name, SweepStore.PointFile);
        Directory.CreateDirectory(Path.GetDirectoryName(pointPath)!);
        File.WriteAllText(pointPath, "{\"plan\": [1, 2");
        var e = Assert.Throws<UserError>(() => store.Load(plan));
        Assert.Contains($"{pointPath} is not the JSON this sweep wrote", e.Message);
        File.WriteAllText(Path.Combine(dir, SweepStore.SettingsFile), "not json");
        e = Assert.Throws<UserError>(() => SweepStore.Open(settings with { Resume = true }));
        Assert.Contains($"{SweepStore.SettingsFile} is not the JSON this sweep wrote", e.Message);
    }

    /// <summary>Every run's measurements and every prediction equal to the last bit; only timings may differ.</summary>
    static void AssertSameResults(ScalingResult expected, ScalingResult actual)
    {
        Assert.Equal(expected.Points.Select(p => p.Plan), actual.Points.Select(p => p.Plan));
        Assert.Equal(expected.Points.Select(p => p.FinalLoss), actual.Points.Select(p => p.FinalLoss));
        Assert.Equal(expected.Points.Select(p => p.FinalCodeNll), actual.Points.Select(p => p.FinalCodeNll));
        Assert.Equal(expected.Points.SelectMany(p => p.Curve), actual.Points.SelectMany(p => p.Curve));
        Assert.Equal(expected.Points.SelectMany(p => p.Code.PassesPerProblem), actual.Points.SelectMany(p => p.Code.PassesPerProblem));
        Assert.Equal(expected.Loss with { Frontier = [] }, actual.Loss with { Frontier = [] });
        Assert.Equal(expected.Code with { Frontier = [] }, actual.Code with { Frontier = [] });
        Assert.Equal(expected.Loss.Frontier, actual.Loss.Frontier);
        Assert.Equal(expected.LossParametric, actual.LossParametric);
        Assert.Equal(expected.LossBacktest!.Predicted, actual.LossBacktest!.Predicted);
        Assert.Equal(expected.Points.SelectMany(p => p.FamilyLosses), actual.Points.SelectMany(p => p.FamilyLosses));
        Assert.Equal(expected.LossMixture!.Predicted, actual.LossMixture!.Predicted);
    }
}
