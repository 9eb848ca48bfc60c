using System.Diagnostics;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Reasoning;

/// <summary>What `self-improve` runs: rounds of sample → vote → filter → four formats → fine-tune, each measured on held-out items.</summary>
public sealed record SelfImproveSettings
{
    public string Model { get; init; } = "runs/sft";
    public string OutDirectory { get; init; } = "runs/self-improve";
    public string Family { get; init; } = "arithmetic";
    public int Rounds { get; init; } = 1;
    /// <summary>Unlabelled training-split questions per round, of at least <see cref="MinSteps"/> steps.</summary>
    public int Questions { get; init; } = 200;
    public int MinSteps { get; init; } = 3;
    /// <summary>
    /// Index in the family's training stream where round 1's questions start (later rounds take
    /// the following slices). The default lies beyond every index the reasoning recipe and the
    /// SFT mixtures read, so the questions are new to the model rather than ones whose solutions
    /// it was fine-tuned on, which would only rehearse what the labels already taught.
    /// </summary>
    public long FirstQuestion { get; init; } = FreshQuestionsStart;
    public const long FreshQuestionsStart = 1L << 32;
    /// <summary>Extra questions made by joining two questions, and written by the model, per round.</summary>
    public int CombinedQuestions { get; init; }
    public int GeneratedQuestions { get; init; }
    public SelfImprovementOptions Sampling { get; init; } = new();
    public TrainConfig FineTune { get; init; } = new() { Steps = 150, BatchSize = 16, SequenceLength = 320, LearningRate = 3e-4, WarmupSteps = 10, EvalEvery = 0, CheckpointEvery = 0, WeightDecay = 0 };
    /// <summary>Held-out (Split.Eval) items that measure each round: greedy zero-shot chain of thought, and a vote over <see cref="EvalSamples"/> paths when above 1.</summary>
    public int EvalItems { get; init; } = 100;
    /// <summary>Seeds whose held-out items measure the rounds, pooled (<see cref="EvalItems"/> per seed); null: <see cref="Seed"/> alone.</summary>
    public IReadOnlyList<long>? EvalSeeds { get; init; }
    /// <summary>Measure the starting model as round 0 (off: only the rounds are measured, when the start is known already).</summary>
    public bool MeasureStart { get; init; } = true;
    public int EvalMinSteps { get; init; } = 3;
    public int EvalSamples { get; init; } = 1;
    public int MaxNewTokens { get; init; } = 160;
    public string Device { get; init; } = "cpu";
    public long Seed { get; init; } = 1;

    /// <summary>
    /// Every phase of one round at toy scale, about a minute on a 2-core CPU with a small model
    /// (for smoke tests and pipelines; set <see cref="Model"/>, <see cref="OutDirectory"/> and
    /// <see cref="Family"/>). The threshold is 0 so the fine-tuning phase always runs; the
    /// accuracies it prints mean nothing.
    /// </summary>
    public static SelfImproveSettings Smoke { get; } = new()
    {
        Rounds = 1, Questions = 4, MinSteps = 1,
        Sampling = new SelfImprovementOptions { Samples = 4, Temperatures = [1.0], ConfidenceThreshold = 0 },
        FineTune = new TrainConfig { Steps = 3, BatchSize = 4, SequenceLength = 256, LearningRate = 3e-4, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1, CheckpointEvery = 0, WeightDecay = 0 },
        EvalItems = 4, EvalMinSteps = 1, EvalSamples = 2, MaxNewTokens = 32,
    };
}

/// <summary>
/// One round: how much data the model made for itself and what it scored after training on it
/// (round 0 is the starting model); with several evaluation seeds, the pooled greedy accuracy and each seed's.
/// </summary>
public sealed record SelfImproveRound(
    int Round, string ModelDirectory, int Questions, int Confident, int Examples, IReadOnlyDictionary<string, int> ExamplesByFormat,
    double GreedyAccuracy, double? VotedAccuracy, double Seconds, IReadOnlyDictionary<long, double>? GreedyAccuracyBySeed = null);

public sealed record SelfImproveResult(string OutDirectory, IReadOnlyList<SelfImproveRound> Rounds, string ResultsFile, string Plot);

/// <summary>
/// The self-improvement stage (Huang et al. 2022). Training questions reach it as
/// <see cref="UnlabelledQuestion"/>s built from curriculum items with their labels dropped;
/// labels of separate held-out items are read only to report accuracy after each round.
/// </summary>
public static class SelfImprovementLoop
{
    public static SelfImproveResult Run(SelfImproveSettings settings, IReasoningObserver observer, CancellationToken cancel = default)
    {
        TorchRuntime.EnsureLoaded();
        if (settings.Rounds < 1) throw new UserError($"--rounds must be at least 1 (got {settings.Rounds}).");
        settings.Sampling.Validate([settings.Family]);
        var outDir = Path.GetFullPath(settings.OutDirectory);
        Directory.CreateDirectory(outDir);
        RunInfo.Capture("self-improve", settings.Seed, settings).Write(outDir);
        var device = TorchRuntime.ParseDevice(settings.Device);
        var evalSeeds = settings.EvalSeeds is { Count: > 0 } seeds ? seeds : [settings.Seed];
        var evalSets = evalSeeds.Select(s => (Seed: s, Items: ReasoningEvaluation.HeldOut(settings.Family, s, settings.EvalItems, settings.EvalMinSteps))).ToList();
        var evalItems = evalSets.SelectMany(e => e.Items).ToList();
        var evalSizes = evalSets.Select(e => (e.Seed, e.Items.Count)).ToList();

        var rounds = new List<SelfImproveRound>();
        var current = Path.GetFullPath(settings.Model);
        var clock = Stopwatch.StartNew();
        if (settings.MeasureStart)
        {
            var (greedy0, voted0, bySeed0) = Measure(current, device, evalItems, evalSizes, settings, observer, "round 0 eval", cancel);
            rounds.Add(new SelfImproveRound(0, current, 0, 0, 0, new Dictionary<string, int>(), greedy0, voted0, clock.Elapsed.TotalSeconds, bySeed0));
            observer.Log($"Round 0 (start): held-out accuracy {greedy0:P1}" + (voted0 is { } v0 ? $", voted {v0:P1}" : ""));
        }

        for (int r = 1; r <= settings.Rounds; r++)
        {
            clock.Restart();
            var roundDir = Path.Combine(outDir, $"round-{r}");
            var round = RunRound(current, roundDir, r, settings, observer, cancel);
            var (greedy, voted, bySeed) = Measure(round.ModelDirectory, device, evalItems, evalSizes, settings, observer, $"round {r} eval", cancel);
            rounds.Add(round with { GreedyAccuracy = greedy, VotedAccuracy = voted, Seconds = clock.Elapsed.TotalSeconds, GreedyAccuracyBySeed = bySeed });
            observer.Log($"Round {r}: {round.Confident}/{round.Questions} confident questions, {round.Examples} examples; held-out accuracy {greedy:P1}" + (voted is { } v ? $", voted {v:P1}" : ""));
            current = round.ModelDirectory;
        }

        var results = Results.Write(outDir, new { settings, rounds });
        var series = new List<ChartSeries> { ReasoningPlots.Series("greedy zero-shot CoT", rounds.Select(x => (double)x.Round), rounds.Select(x => x.GreedyAccuracy)) };
        if (rounds.All(x => x.VotedAccuracy is not null))
            series.Add(ReasoningPlots.Series($"self-consistency m={settings.EvalSamples}", rounds.Select(x => (double)x.Round), rounds.Select(x => x.VotedAccuracy!.Value)));
        var chart = ReasoningPlots.Accuracy($"Self-improvement on held-out {settings.Family} ({settings.EvalMinSteps}+ steps)", "round", series);
        var plot = ReasoningPlots.SavePng(chart, outDir, "accuracy_per_round.png");
        ReasoningPlots.Report(outDir, "Self-improvement", ["round", "questions", "confident", "examples", "greedy accuracy", "voted accuracy"],
            rounds.Select(r => (IReadOnlyList<object?>)[r.Round, r.Questions, r.Confident, r.Examples, r.GreedyAccuracy, r.VotedAccuracy]), [chart]);
        return new SelfImproveResult(outDir, rounds, results, plot);
    }

    /// <summary>One round from <paramref name="model"/>: questions, paths, data in ROUND/train.jsonl, fine-tuned model in ROUND/model.</summary>
    public static SelfImproveRound RunRound(string model, string roundDir, int round, SelfImproveSettings settings, IReasoningObserver observer, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(roundDir);
        var options = settings.Sampling with { Seed = settings.Sampling.Seed + 1000L * round };
        var questions = UnlabelledQuestion.From(TrainingQuestions(settings, round));
        IReadOnlyList<VotedQuestion> voted;
        IReadOnlyList<UnlabelledQuestion> all;
        int asked;
        using (var bundle = ModelBundle.Load(model, TorchRuntime.ParseDevice(settings.Device)))
        {
            var sampler = new ModelPathSampler(bundle, settings.MaxNewTokens);
            all = Augment(sampler, questions, settings, options.Seed, observer);
            asked = all.Count;
            voted = SelfImprovement.CollectPaths(sampler, all, options, observer.Items($"round {round} sampling", all.Count), cancel);
        }
        if (PathFidelity.Families.Contains(settings.Family))
            observer.Log($"Round {round}: kept by step count " + string.Join(", ", all.GroupBy(q => PathFidelity.Operations(q.Text)).OrderBy(g => g.Key)
                .Select(g => $"{g.Key}: {voted.Count(v => PathFidelity.Operations(v.Question.Text) == g.Key)}/{g.Count()}")) + ".");
        var kept = voted.Count;
        if (options.BalanceSteps) voted = SelfImprovement.BalanceBySteps(voted);
        var data = SelfImprovement.BuildTrainingData(voted, options);
        var byFormat = data.GroupBy(d => d.Format.ToString()).ToDictionary(g => g.Key, g => g.Count());
        if (data.Count == 0)
        {
            // Nothing to learn from: the round keeps the model, and the results say so.
            observer.Log($"Round {round}: no question reached the confidence threshold {options.ConfidenceThreshold}; the model is kept unchanged (lower --threshold or start from a better model).");
            return new SelfImproveRound(round, model, asked, 0, 0, byFormat, 0, null, 0);
        }
        var file = Path.Combine(roundDir, "train.jsonl");
        ReasoningRecipe.WriteChatJsonl(file, data.Select(d => d.Example));
        observer.Log($"Round {round}: kept {kept}/{asked} questions (confidence ≥ {options.ConfidenceThreshold}){(options.BalanceSteps ? $", {voted.Count} after balancing step counts" : "")}; {data.Count} training conversations ({string.Join(", ", byFormat.Select(kv => $"{kv.Key} {kv.Value}"))}).");

        var modelDir = Path.Combine(roundDir, "model");
        var fineTune = settings.FineTune with { Seed = settings.Seed + round };
        FineTuning.Run(new FineTuneSettings { BaseModel = model, OutDirectory = modelDir, DataFile = file, Device = settings.Device, SamplePrompts = [], Train = fineTune },
            resume: false, observer.Training($"round {round} fine-tune", fineTune.Steps), observer.Log, cancel);
        return new SelfImproveRound(round, modelDir, asked, kept, data.Count, byFormat, 0, null, 0);
    }

    /// <summary>Training-split items of the family with enough steps, from <see cref="SelfImproveSettings.FirstQuestion"/> on; a fresh slice of the stream each round.</summary>
    public static IEnumerable<CurriculumItem> TrainingQuestions(SelfImproveSettings settings, int round)
    {
        var source = CurriculumRegistry.Get(settings.Family);
        long start = settings.FirstQuestion + (round - 1) * (long)settings.Questions * 64;
        int found = 0;
        for (long i = start; found < settings.Questions && i < start + settings.Questions * 64L; i++)
        {
            var item = source.Make(settings.Seed, Split.Train, i);
            if (item.Difficulty < settings.MinSteps) continue;
            found++;
            yield return item;
        }
    }

    static IReadOnlyList<UnlabelledQuestion> Augment(IPathSampler sampler, IReadOnlyList<UnlabelledQuestion> questions, SelfImproveSettings settings, long seed, IReasoningObserver observer)
    {
        var combined = QuestionAugmentation.Combined(questions, settings.CombinedQuestions, seed);
        var generated = settings.GeneratedQuestions > 0 ? QuestionAugmentation.Generated(sampler, questions, settings.GeneratedQuestions, seed) : [];
        if (combined.Count + generated.Count > 0)
            observer.Log($"Augmented {questions.Count} questions with {combined.Count} combined and {generated.Count} model-written ones.");
        return [.. questions, .. combined, .. generated];
    }

    /// <summary>Greedy (and voted) accuracy over every evaluation seed's items pooled; the log also gives it per seed and per step count.</summary>
    static (double Greedy, double? Voted, IReadOnlyDictionary<long, double> BySeed) Measure(string model, TorchSharp.torch.Device device, IReadOnlyList<CurriculumItem> items,
        IReadOnlyList<(long Seed, int Count)> sizes, SelfImproveSettings settings, IReasoningObserver observer, string phase, CancellationToken cancel)
    {
        using var bundle = ModelBundle.Load(model, device);
        var options = new ReasoningEvalOptions { Format = PromptFormat.ZeroShotCot, Samples = settings.EvalSamples, Temperatures = settings.Sampling.Temperatures, Seed = settings.Seed };
        var result = ReasoningEvaluation.Run(new ModelPathSampler(bundle, settings.MaxNewTokens), items, options, null, observer.Items(phase, items.Count), cancel);
        // The items are the seeds' sets one after another, so each seed's results are the next Count details.
        var bySeed = new Dictionary<long, double>();
        int offset = 0;
        foreach (var (seed, count) in sizes)
        {
            if (count > 0) bySeed[seed] = result.Details.Skip(offset).Take(count).Average(d => d.GreedyCorrect ? 1.0 : 0.0);
            offset += count;
        }
        observer.Log($"{phase}: greedy {result.GreedyAccuracy:P1} of {result.Items}; "
            + string.Join(", ", bySeed.Select(kv => $"seed {kv.Key}: {kv.Value:P1}")) + "; by steps "
            + string.Join(", ", result.GreedyAccuracyByDifficulty.Select(kv => $"{kv.Key}: {kv.Value:P1}")) + ".");
        return (result.GreedyAccuracy, settings.EvalSamples > 1 ? result.VotedAccuracyBySamples[settings.EvalSamples] : null, bySeed);
    }
}
