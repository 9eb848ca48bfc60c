using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;

namespace Gpt4Sharp.Reasoning;

/// <summary>What `reason emergence` sweeps: model shapes trained by the same recipe, scored on multi-step held-out problems.</summary>
public sealed record EmergenceSettings
{
    public string OutDirectory { get; init; } = "runs/emergence";
    /// <summary>Widths and depths, smallest first; heads are width / 32.</summary>
    public IReadOnlyList<ModelSize> Sizes { get; init; } = [new(32, 1), new(64, 2), new(96, 3)];
    /// <summary>The recipe each size goes through (shape fields other than width and depth come from here).</summary>
    public ReasoningModelSettings Recipe { get; init; } = new()
    {
        CorpusDocuments = 6000,
        Pretrain = new() { Steps = 150, BatchSize = 16, SequenceLength = 128, LearningRate = 3e-3, WarmupSteps = 15, EvalEvery = 0, CheckpointEvery = 0 },
        SftExamples = 3000,
        Sft = new() { Steps = 100, BatchSize = 16, SequenceLength = 320, LearningRate = 1e-3, WarmupSteps = 10, EvalEvery = 0, CheckpointEvery = 0, WeightDecay = 0 },
    };
    public int EvalItems { get; init; } = 40;
    public int EvalMinSteps { get; init; } = 3;
    public int MaxNewTokens { get; init; } = 160;
}

/// <summary>A model shape in the sweep: width and depth.</summary>
public sealed record ModelSize(int DModel, int Layers);

/// <summary>One size: parameters, training compute (6·N·D style FLOPs of both phases) and greedy held-out accuracy per format.</summary>
public sealed record EmergencePoint(int DModel, int Layers, long Parameters, double TrainingFlops, double DirectAccuracy, double CotAccuracy);

public sealed record EmergenceResult(IReadOnlyList<EmergencePoint> Points, string ResultsFile, IReadOnlyList<string> Plots);

/// <summary>
/// Emergence curves (Wei et al. 2022, "Emergent abilities"): the same recipe at several sizes,
/// accuracy on multi-step problems plotted against parameters and against training compute,
/// for direct answers and chain of thought.
/// </summary>
public static class Emergence
{
    public static EmergenceResult Run(EmergenceSettings settings, IReasoningObserver observer, CancellationToken cancel = default)
    {
        TorchRuntime.EnsureLoaded();
        if (settings.Sizes.Count == 0) throw new UserError("Give at least one model size to sweep, e.g. --sizes 32x1,64x2.");
        var outDir = Path.GetFullPath(settings.OutDirectory);
        Directory.CreateDirectory(outDir);
        RunInfo.Capture("reason emergence", settings.Recipe.Seed, settings).Write(outDir);
        var corpus = ReasoningRecipe.PrepareCorpus(settings.Recipe, outDir, observer);
        var items = ReasoningEvaluation.HeldOut(settings.Recipe.Family, settings.Recipe.Seed, settings.EvalItems, settings.EvalMinSteps);
        var points = new List<EmergencePoint>();
        foreach (var (d, layers) in settings.Sizes)
        {
            var heads = Math.Max(1, d / 32);
            var recipe = settings.Recipe with { Model = settings.Recipe.Model with { DModel = d, Layers = layers, Heads = heads, KvHeads = heads } };
            recipe.Model.Validate();
            var dir = Path.Combine(outDir, $"d{d}-l{layers}");
            var pre = ReasoningRecipe.Pretrain(recipe, corpus, Path.Combine(dir, "pretrain"), observer, cancel);
            var sft = ReasoningRecipe.FineTune(recipe, pre.OutDirectory, Path.Combine(dir, "sft"), observer, cancel);
            using var bundle = ModelBundle.Load(sft.OutDirectory, TorchRuntime.ParseDevice(recipe.Device));
            var config = bundle.Model.Config;
            double flops = config.TrainingFlopsPerToken(recipe.Pretrain.SequenceLength) * recipe.Pretrain.TokensPerStep * recipe.Pretrain.Steps
                         + config.TrainingFlopsPerToken(recipe.Sft.SequenceLength) * recipe.Sft.TokensPerStep * recipe.Sft.Steps;
            var sampler = new ModelPathSampler(bundle, settings.MaxNewTokens);
            double Accuracy(PromptFormat f) => ReasoningEvaluation.Run(sampler, items, new ReasoningEvalOptions { Format = f, Samples = 1, Seed = recipe.Seed },
                null, observer.Items($"d{d}-l{layers} {f.Name()}", items.Count), cancel).GreedyAccuracy;
            var point = new EmergencePoint(d, layers, bundle.Model.ParameterCount, flops, Accuracy(PromptFormat.ZeroShot), Accuracy(PromptFormat.ZeroShotCot));
            observer.Log($"d={d} L={layers}: {point.Parameters:N0} parameters, {point.TrainingFlops:E2} FLOPs; direct {point.DirectAccuracy:P1}, chain of thought {point.CotAccuracy:P1}.");
            points.Add(point);
        }

        var results = Results.Write(outDir, new { settings, points });
        List<ChartSeries> Curves(Func<EmergencePoint, double> x) =>
        [
            ReasoningPlots.Series("direct answer", points.Select(x), points.Select(p => p.DirectAccuracy)),
            ReasoningPlots.Series("chain of thought", points.Select(x), points.Select(p => p.CotAccuracy)),
        ];
        var title = $"Held-out {settings.Recipe.Family}, {settings.EvalMinSteps}+ steps";
        var charts = new[]
        {
            ReasoningPlots.Accuracy($"{title}, by parameters", "parameters (log scale)", Curves(p => p.Parameters), logX: true),
            ReasoningPlots.Accuracy($"{title}, by training compute", "training FLOPs (log scale)", Curves(p => p.TrainingFlops), logX: true),
        };
        var plots = new List<string> { ReasoningPlots.SavePng(charts[0], outDir, "accuracy_vs_parameters.png"), ReasoningPlots.SavePng(charts[1], outDir, "accuracy_vs_compute.png") };
        ReasoningPlots.Report(outDir, "Emergence sweep", ["size", "parameters", "training FLOPs", "direct", "chain of thought"],
            points.Select(p => (IReadOnlyList<object?>)[$"{p.DModel}x{p.Layers}", p.Parameters, p.TrainingFlops, p.DirectAccuracy, p.CotAccuracy]), charts);
        return new EmergenceResult(points, results, plots);
    }

    /// <summary>Parses "32x1,64x2" (width x depth) into sizes.</summary>
    public static IReadOnlyList<ModelSize> ParseSizes(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
    {
        var parts = s.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var d) || !int.TryParse(parts[1], out var l) || d < 32 || d % 32 != 0 || l < 1)
            throw new UserError($"Model size '{s}' is not WIDTHxDEPTH with a width that is a multiple of 32; write e.g. 64x2.");
        return new ModelSize(d, l);
    }).ToList();
}
