using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Scaling;

public class ScalingSweepTests
{
    static ScalingSettings Micro(string dir) => new()
    {
        OutDirectory = dir, FittedWidths = [8, 16, 24], TargetWidth = 32, Layers = 1, Heads = 2, TokensPerParameter = 0.05,
        MinComputeRatio = 1, VocabSize = 300, CorpusDocuments = 300, BatchSize = 4, SequenceLength = 32, EvalBatches = 2,
        CodeProblems = 2, SamplesPerProblem = 2, MaxNewTokens = 8,
    };

    [Fact]
    public void PlanRejectsATargetWithTooLittleCompute()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { TargetWidth = 32, MinComputeRatio = 30 };
        var e = Assert.Throws<UserError>(() => ScalingSweep.Plan(settings, 300));
        Assert.Contains("--target-width", e.Message);
    }

    [Fact]
    public void PlanScalesTokensWithParametersAndOrdersByCompute()
    {
        var plans = ScalingSweep.Plan(Micro(RepoPaths.NewTempDir()) with { TokensPerParameter = 20 }, 300);
        Assert.Equal(4, plans.Count);
        Assert.True(plans[^1].HeldOut && plans.Take(3).All(p => !p.HeldOut));
        for (int i = 1; i < plans.Count; i++) Assert.True(plans[i].Compute > plans[i - 1].Compute);
        // Steps are rounded, so the ratio is 20 to within one step.
        foreach (var p in plans) Assert.InRange((double)p.Tokens / p.Parameters, 20 - 128.0 / p.Parameters, 20 + 128.0 / p.Parameters);
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
        Assert.Equal(["fit-d8", "fit-d16", "fit-d24", "predicted", "target-d32"], observer.Events);
        Assert.All(result.Points, p => Assert.True(double.IsFinite(p.FinalLoss) && p.Compute > 0));
        Assert.Equal(result.Points[^1].FinalLoss, result.Loss.Actual);
        Assert.NotNull(result.Loss.RelativeError);
        Assert.InRange(result.Points[0].Code.MeanLogPassRate, 0, Math.Log(4));

        var report = ScalingReport.Save(result, dir);
        Assert.True(File.Exists(report));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir, "charts"), "*.png").Length);
        var json = Results.Read(dir);
        Assert.Equal(4, json["runs"]!.AsArray().Count);
        Assert.Equal(result.Loss.Predicted, json["loss"]!["predicted"]!.GetValue<double>());
    }

    sealed class Recorder : ISweepObserver
    {
        public List<string> Events { get; } = [];
        public void RunFinished(SweepPoint point) => Events.Add(point.Plan.Name);
        public void Predicted(Prediction loss, Prediction code) => Events.Add("predicted");
    }
}
