using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Reasoning;

/// <summary>What `reason demo` runs end to end.</summary>
public sealed record ReasoningDemoSettings
{
    public string OutDirectory { get; init; } = "runs/reasoning-demo";
    public ReasoningModelSettings Recipe { get; init; } = new();
    /// <summary>
    /// Held-out items of the recipe's family with at least <see cref="EvalMinSteps"/> steps for every
    /// measurement: 500, so that two measurements of one model differ by about ±3 points rather than ±4
    /// (the first 300 are the items earlier runs reported).
    /// </summary>
    public int EvalItems { get; init; } = 500;
    public int EvalMinSteps { get; init; } = 3;
    public int Samples { get; init; } = 16;
    /// <summary>
    /// Self-consistency's sampling temperature, chosen on held-out items of another seed: at 0.5 the
    /// paths take both derivations of a step that crosses ten, so their mistakes differ (see the README).
    /// </summary>
    public IReadOnlyList<double> Temperatures { get; init; } = [0.5];
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>
    /// The round: 4,000 unlabelled questions the recipe never labelled, 8 paths each at temperature
    /// 0.5; only paths that work the question's own operations in order vote (the faithful-paths
    /// filter, <see cref="PathFidelity"/>: an extension of Huang et al. that reads the question only);
    /// a question is kept at a 0.5 vote share with its two most frequent distinct majority paths,
    /// and the model is fine-tuned 600 steps at 2e-4. Chosen on the pooled held-out items of seeds
    /// 2–4 (1,500 items): +6.7 points, against +3.4 for 2,000 questions, one path and 300 steps (see the README).
    /// </summary>
    public SelfImproveSettings SelfImprove { get; init; } = new()
    {
        Questions = 4000,
        Sampling = new SelfImprovementOptions { Samples = 8, Temperatures = [0.5], ConfidenceThreshold = 0.5, MaxPathsPerQuestion = 2, FaithfulPathsOnly = true },
        FineTune = new TrainConfig { Steps = 600, BatchSize = 16, SequenceLength = 320, LearningRate = 2e-4, WarmupSteps = 10, EvalEvery = 0, CheckpointEvery = 0, WeightDecay = 0 },
    };

    /// <summary>
    /// Every phase of the demo at toy scale (a 1-layer, 32-wide model; tens of training steps;
    /// a handful of items), about a minute on a 2-core CPU: for smoke tests and pipelines. The
    /// self-improvement threshold is 0 so its fine-tuning always runs; the accuracies mean nothing.
    /// </summary>
    public static ReasoningDemoSettings Smoke { get; } = new()
    {
        EvalItems = 4, Samples = 4, MaxNewTokens = 32,
        Recipe = new ReasoningModelSettings
        {
            Model = new GptConfig { ContextLength = 320, DModel = 32, Layers = 1, Heads = 1, KvHeads = 1, FfnHidden = 64 },
            VocabSize = 300, CorpusDocuments = 300, SftExamples = 40,
            Pretrain = new TrainConfig { Steps = 20, BatchSize = 8, SequenceLength = 64, LearningRate = 1e-2, WarmupSteps = 2, EvalEvery = 0, EvalBatches = 1, CheckpointEvery = 0 },
            Sft = new TrainConfig { Steps = 5, BatchSize = 4, SequenceLength = 256, LearningRate = 1e-3, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1, CheckpointEvery = 0, WeightDecay = 0 },
        },
        SelfImprove = SelfImproveSettings.Smoke,
    };

    /// <summary>The settings a preset name stands for: "full" (the documented demo) or "smoke".</summary>
    public static ReasoningDemoSettings Preset(string name) => name.Trim().ToLowerInvariant() switch
    {
        "full" => new ReasoningDemoSettings(),
        "smoke" => Smoke,
        _ => throw new UserError($"Preset '{name}' is unknown; use full or smoke."),
    };
}

public sealed record ReasoningDemoResult(
    string OutDirectory, long Parameters, IReadOnlyList<ReasoningEvalResult> Formats, ReasoningEvalResult SelfConsistency,
    SelfImproveResult SelfImprove, string ResultsFile, IReadOnlyList<string> Plots);

/// <summary>
/// The reasoning demo: train the recipe's model (<see cref="ReasoningRecipe"/>), compare the four
/// prompt formats on held-out multi-step problems, draw the self-consistency curve (accuracy
/// against m), and run one label-free self-improvement round.
/// </summary>
public static class ReasoningDemo
{
    public static ReasoningDemoResult Run(ReasoningDemoSettings settings, IReasoningObserver observer, CancellationToken cancel = default)
    {
        TorchRuntime.EnsureLoaded();
        // Refuse a filter the family cannot use now, not after pretraining.
        if (settings.SelfImprove.Sampling.FaithfulPathsOnly) PathFidelity.EnsureSupported(settings.Recipe.Family);
        var outDir = Path.GetFullPath(settings.OutDirectory);
        Directory.CreateDirectory(outDir);
        RunInfo.Capture("reason demo", settings.Recipe.Seed, settings).Write(outDir);
        var recipe = settings.Recipe;

        var corpus = ReasoningRecipe.PrepareCorpus(recipe, outDir, observer);
        var pretrained = ReasoningRecipe.Pretrain(recipe, corpus, Path.Combine(outDir, "pretrain"), observer, cancel);
        observer.Log($"Pretrained {pretrained.Parameters:N0} parameters: validation loss {pretrained.FinalValidationLoss:F3} in {pretrained.TrainSeconds:F0} s.");
        var sft = ReasoningRecipe.FineTune(recipe, pretrained.OutDirectory, Path.Combine(outDir, "sft"), observer, cancel);
        observer.Log($"Fine-tuned on the four prompt formats: validation loss {sft.FinalValidationLoss:F3} in {sft.TrainSeconds:F0} s.");

        var items = ReasoningEvaluation.HeldOut(recipe.Family, recipe.Seed, settings.EvalItems, settings.EvalMinSteps);
        var pool = ExemplarPool.FromTraining(recipe.Family, recipe.Seed + 1, maxDifficulty: recipe.ExemplarMaxSteps);
        var formats = new List<ReasoningEvalResult>();
        ReasoningEvalResult consistency;
        using (var bundle = ModelBundle.Load(sft.OutDirectory, TorchRuntime.ParseDevice(recipe.Device)))
        {
            var sampler = new ModelPathSampler(bundle, settings.MaxNewTokens);
            foreach (var format in Enum.GetValues<PromptFormat>())
            {
                var options = new ReasoningEvalOptions { Format = format, Shots = recipe.Shots, Samples = 1, Seed = recipe.Seed };
                var r = ReasoningEvaluation.Run(sampler, items, options, pool, observer.Items($"eval {format.Name()}", items.Count), cancel);
                observer.Log($"{format.Name()}: greedy accuracy {r.GreedyAccuracy:P1} on {r.Items} held-out problems of {settings.EvalMinSteps}+ steps.");
                formats.Add(r);
            }
            var sc = new ReasoningEvalOptions { Format = PromptFormat.ZeroShotCot, Samples = settings.Samples, Temperatures = settings.Temperatures, Seed = recipe.Seed };
            consistency = ReasoningEvaluation.Run(sampler, items, sc, pool, observer.Items($"self-consistency m={settings.Samples}", items.Count), cancel);
            observer.Log($"Self-consistency: greedy {consistency.GreedyAccuracy:P1}, majority of {settings.Samples} paths {consistency.VotedAccuracyBySamples[settings.Samples]:P1}.");
        }

        var improve = SelfImprovementLoop.Run(settings.SelfImprove with
        {
            Model = sft.OutDirectory, OutDirectory = Path.Combine(outDir, "self-improve"), Family = recipe.Family, Rounds = 1,
            EvalItems = settings.EvalItems, EvalMinSteps = settings.EvalMinSteps, MaxNewTokens = settings.MaxNewTokens, Device = recipe.Device, Seed = recipe.Seed,
        }, observer, cancel);

        var byStepsChart = ReasoningPlots.Accuracy("Greedy accuracy by prompt format (held-out)", "reasoning steps",
            formats.Select(f => ReasoningPlots.Series(f.Format, f.GreedyAccuracyByDifficulty.Keys.Select(k => (double)k), f.GreedyAccuracyByDifficulty.Values)).ToList());
        var samplesChart = SamplesChart(consistency);
        var plots = new List<string>
        {
            ReasoningPlots.SavePng(byStepsChart, outDir, "accuracy_by_steps.png"),
            ReasoningPlots.SavePng(samplesChart, outDir, "accuracy_vs_samples.png"),
            improve.Plot,
        };
        var results = Results.Write(outDir, new
        {
            settings, parameters = pretrained.Parameters,
            pretrain = new { pretrained.Steps, pretrained.FinalValidationLoss, pretrained.TrainSeconds },
            sft = new { sft.Steps, sft.FinalValidationLoss, sft.TrainSeconds },
            formats = formats.Select(Summary), selfConsistency = Summary(consistency), selfImprovement = improve.Rounds,
        });
        var rows = formats.Select(f => (IReadOnlyList<object?>)[$"{f.Format} (greedy)", f.GreedyAccuracy])
            .Append([$"zero-shot-cot, majority of {settings.Samples}", consistency.VotedAccuracyBySamples[settings.Samples]])
            .Concat(improve.Rounds.Select(r => (IReadOnlyList<object?>)[$"self-improvement round {r.Round} (greedy CoT)", r.GreedyAccuracy]));
        ReasoningPlots.Report(outDir, $"Reasoning demo: {pretrained.Parameters:N0}-parameter model, held-out {recipe.Family} of {settings.EvalMinSteps}+ steps",
            ["measurement", "accuracy"], rows, [byStepsChart, samplesChart, ReasoningPlots.Accuracy("Self-improvement", "round",
                [ReasoningPlots.Series("greedy zero-shot CoT", improve.Rounds.Select(r => (double)r.Round), improve.Rounds.Select(r => r.GreedyAccuracy))])]);
        return new ReasoningDemoResult(outDir, pretrained.Parameters, formats, consistency, improve, results, plots);
    }

    /// <summary>An evaluation without its per-item details, for results files.</summary>
    public static object Summary(ReasoningEvalResult r) => new
    {
        r.Family, r.Format, r.Items, r.GreedyAccuracy, r.VotedAccuracyBySamples, r.GreedyAccuracyByDifficulty, r.SecondsPerItem,
    };

    /// <summary>Accuracy against the number of voted paths m, with greedy decoding as a flat reference.</summary>
    public static Chart SamplesChart(ReasoningEvalResult r) => ReasoningPlots.Accuracy($"Self-consistency, {r.Format} ({r.Items} held-out {r.Family} items)", "sampled paths m",
    [
        ReasoningPlots.Series("majority vote", r.VotedAccuracyBySamples.Keys.Select(k => (double)k), r.VotedAccuracyBySamples.Values),
        ReasoningPlots.Series("greedy", [r.VotedAccuracyBySamples.Keys.Min(), r.VotedAccuracyBySamples.Keys.Max()], [r.GreedyAccuracy, r.GreedyAccuracy]),
    ]);
}
