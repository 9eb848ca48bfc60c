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
    public void PlanIsAnIsoFlopGridInsideTheTokensPerParameterWindowAndTheTargetHasTheRatio()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with
        {
            FittedWidths = [8, 16, 24, 32], TargetWidth = 64, TokensPerParameter = 20, MinComputeRatio = 30, BudgetSpan = 27, FrontierPoints = 4, FrontierSpan = 27,
            MinTokensPerParameter = 5, MaxTokensPerParameter = 60,
        };
        var plans = ScalingSweep.Plan(settings, 300);
        var fitted = plans.Where(p => !p.HeldOut).ToList();
        Assert.True(plans[^1].HeldOut && plans.Count(p => p.HeldOut) == 1);
        var budgets = ScalingSweep.Budgets(settings, 300);
        Assert.Equal(4, budgets.Count);
        Assert.Equal(27, budgets[^1] / budgets[0], 1e-9);
        Assert.Equal(budgets, fitted.Select(p => p.Budget).Distinct());
        // Every run's compute is its budget up to rounding to whole steps, and its tokens per parameter are inside the window.
        Assert.All(fitted, p => Assert.InRange(p.Compute / p.Budget, 1 - 1.0 / p.Steps, 1 + 1.0 / p.Steps));
        Assert.All(fitted, p => Assert.InRange((double)p.Tokens / p.Parameters, 5, 60));
        // The largest width trains at the top budget with the requested tokens per parameter (to within a step)...
        var top = fitted.Single(p => p.Width == 32 && p.Budget == budgets[^1]);
        Assert.InRange((double)top.Tokens / top.Parameters, 20 - 64.0 / top.Parameters, 20 + 64.0 / top.Parameters);
        // ... and the small widths that would see more than the window's tokens per parameter there do not.
        Assert.DoesNotContain(fitted, p => p.Width == 8 && p.Budget == budgets[^1]);
        Assert.Equal("fit-d32-b4", top.Name);
        Assert.InRange(plans[^1].Compute / fitted.Max(p => p.Compute), 30 * (1 - 1.0 / top.Steps), 30 * (1 + 1.0 / plans[^1].Steps + 1.0 / top.Steps));
    }

    [Fact]
    public void TheDefaultGridHasSevenBudgetsOverTwentySevenXAndAHeldOutRunAtThirtyX()
    {
        var plans = ScalingSweep.Plan(new ScalingSettings(), 384);
        var fitted = plans.Where(p => !p.HeldOut).ToList();
        Assert.Equal(3 * 24, fitted.Count); // every cell with three seeds
        Assert.Equal([9, 9, 12, 9, 12, 12, 9], fitted.GroupBy(p => p.Budget).Select(g => g.Count()));
        Assert.Equal(["fit-d24-b7", "fit-d32-b7", "fit-d40-b7"], fitted.Take(24).TakeLast(3).Select(p => p.Name));
        Assert.Equal(["fit-d24-b7-seed3", "fit-d32-b7-seed3", "fit-d40-b7-seed3"], fitted.TakeLast(3).Select(p => p.Name));
        Assert.Equal("target-d96", plans[^1].Name);
        Assert.InRange(plans[^1].Compute / fitted.Max(p => p.Compute), 30, 30.01);
        // The pipeline's smaller preset plans a valid grid too.
        Assert.NotEmpty(ScalingSweep.Plan(Gpt4Sharp.Pipeline.PipelinePresets.Default().Scaling, 384));
    }

    [Fact]
    public void ABudgetWithoutAnyWidthInTheWindowIsRefused()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { MinTokensPerParameter = 1000, MaxTokensPerParameter = 2000 };
        var e = Assert.Throws<UserError>(() => ScalingSweep.Plan(settings, 300));
        Assert.Contains("--min-tokens-per-param", e.Message);
    }

    [Fact]
    public void EveryRunDecaysItsLearningRateOverItsOwnLength()
    {
        var settings = new ScalingSettings { LearningRate = 8e-3, WarmupSteps = 50, MinLearningRateRatio = 0.05 };
        foreach (int steps in new[] { 200, 8000 })
        {
            var train = settings.TrainFor(steps);
            Assert.Equal(8e-3, train.LearningRateAt(50), 1e-12);
            Assert.Equal(4e-3 * 1.05, train.LearningRateAt(50 + (steps - 50) / 2), 1e-6);
            Assert.Equal(8e-3 * 0.05, train.LearningRateAt(steps), 1e-12);
        }
        // A ratio of 1 is the constant rate of the earlier recipe.
        var constant = (settings with { MinLearningRateRatio = 1 }).TrainFor(1000);
        Assert.Equal(8e-3, constant.LearningRateAt(999), 1e-12);
    }

    [Fact]
    public void TheLearningRateScalesInverselyWithWidthUnderTheMuPRule()
    {
        var settings = new ScalingSettings { LearningRate = 8e-3, LearningRateBaseWidth = 32, LearningRateWidthExponent = 1 };
        Assert.Equal(8e-3, settings.LearningRateFor(32), 1e-15);
        Assert.Equal(3.2e-2, settings.LearningRateFor(8), 1e-15);
        Assert.Equal(8e-3 / 3, settings.TrainFor(1000, 96).LearningRate, 1e-15);
        // The base width's rate when no width is given, and one rate for all widths with exponent 0.
        Assert.Equal(8e-3, settings.TrainFor(1000).LearningRate, 1e-15);
        Assert.Equal(8e-3, (settings with { LearningRateWidthExponent = 0 }).TrainFor(1000, 96).LearningRate, 1e-15);
    }

    [Fact]
    public void ExtraFitSeedsRepeatEveryFittedPlanWithItsOwnSeed()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { FitSeeds = 2, Seed = 5 };
        var plans = ScalingSweep.Plan(settings, 300);
        var fitted = plans.Where(p => !p.HeldOut).ToList();
        int grid = fitted.Count / 2;
        Assert.Equal(fitted.Take(grid).Select(p => p with { Name = "", Seed = 0 }), fitted.Skip(grid).Select(p => p with { Name = "", Seed = 0 }));
        Assert.Equal(Enumerable.Repeat(5L, grid).Concat(Enumerable.Repeat(6L, grid)), fitted.Select(p => p.Seed));
        Assert.Equal(fitted[0].Name + "-seed2", fitted[grid].Name);
        // The held-out run trains once, with the sweep's seed, at the ratio over one fitted run.
        Assert.Equal(5, plans[^1].Seed);
        Assert.InRange(plans[^1].Compute / fitted.Max(p => p.Compute), 3 * (1 - 0.1), 3 * (1 + 0.1));
    }

    [Fact]
    public void HeldOutSeedsRepeatTheHeldOutPlanWithTheNextSeedsAfterEveryFittedRun()
    {
        var settings = Micro(RepoPaths.NewTempDir()) with { HeldOutSeeds = 3, Seed = 5 };
        var plans = ScalingSweep.Plan(settings, 300);
        var heldOut = plans.SkipWhile(p => !p.HeldOut).ToList();
        Assert.Equal(3, heldOut.Count);
        Assert.All(heldOut, p => Assert.True(p.HeldOut));
        Assert.Equal(["target-d16", "target-d16-seed2", "target-d16-seed3"], heldOut.Select(p => p.Name));
        Assert.Equal([5L, 6L, 7L], heldOut.Select(p => p.Seed));
        Assert.Single(heldOut.Select(p => p with { Name = "", Seed = 0 }).Distinct());
        // One held-out seed is the plan of a sweep without the option.
        Assert.Equal(ScalingSweep.Plan(Micro(RepoPaths.NewTempDir()) with { Seed = 5 }, 300), plans.SkipLast(2));
    }

    [Theory]
    [InlineData(0, 1, "held-out seeds")]
    [InlineData(1, 0, "workers")]
    public void HeldOutSeedsAndWorkersMustBePositive(int heldOutSeeds, int workers, string named)
    {
        var e = Assert.Throws<UserError>(() => (Micro(RepoPaths.NewTempDir()) with { HeldOutSeeds = heldOutSeeds, Workers = workers }).Validate());
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public async Task ASweepThatWouldRepeatDataIsRefusedBeforeTraining()
    {
        var observer = new Recorder();
        var e = await Assert.ThrowsAsync<UserError>(() => ScalingSweep.RunAsync(Micro(RepoPaths.NewTempDir()) with { CorpusDocuments = 20 }, observer));
        Assert.Contains("--corpus-docs", e.Message);
        Assert.Empty(observer.Events);
    }

    internal sealed class Recorder : ISweepObserver
    {
        readonly Lock gate = new();
        readonly List<string> events = [];
        /// <summary>Called with the number of finished runs after each one (the sweep's workers call it concurrently).</summary>
        public Action<int>? AfterRun { get; init; }

        public IReadOnlyList<string> Events { get { lock (gate) return [.. events]; } }

        public void RunFinished(SweepPoint point)
        {
            int finished;
            lock (gate)
            {
                events.Add(point.Plan.Name);
                finished = events.Count(e => e != "predicted");
            }
            AfterRun?.Invoke(finished);
        }

        public void Predicted(SweepPredictions predictions)
        {
            lock (gate) events.Add("predicted");
        }
    }
}
