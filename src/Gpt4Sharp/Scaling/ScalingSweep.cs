using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Data;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Model;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Scaling;

/// <summary>
/// A compute sweep with one shared recipe: every model has the same depth, head width, data,
/// batch, learning-rate schedule shape and seed; only the width changes, and the training tokens
/// are a fixed multiple of the parameter count. The fitted sizes are small; the target is one
/// much larger run whose loss and code metric are predicted from the others before it trains.
/// The default sweep (5 fitted sizes over ~9x compute, a held-out run with 30x the largest
/// fitted) takes about 10 minutes on 2 busy CPU cores.
/// </summary>
public sealed record ScalingSettings
{
    public string OutDirectory { get; init; } = "runs/scaling";
    /// <summary>Model widths of the runs the laws are fitted on.</summary>
    public IReadOnlyList<int> FittedWidths { get; init; } = [6, 8, 10, 12, 14];
    /// <summary>Width of the held-out run that is predicted, then trained.</summary>
    public int TargetWidth { get; init; } = 44;
    public int Layers { get; init; } = 2;
    /// <summary>Attention heads at every width (the head width grows with the model, as in Kaplan et al.'s width sweeps).</summary>
    public int Heads { get; init; } = 1;
    /// <summary>
    /// Training tokens per parameter (embeddings included). Chinchilla's compute-optimal ratio is
    /// about 20; 30 trains the tiny fitted models further along (out of the first-steps transient)
    /// while a 30x-compute held-out run still fits in a laptop's minutes.
    /// </summary>
    public double TokensPerParameter { get; init; } = 30;
    /// <summary>The held-out run must have at least this many times the compute of the largest fitted run.</summary>
    public double MinComputeRatio { get; init; } = 30;
    public int VocabSize { get; init; } = 384;
    public int CorpusDocuments { get; init; } = 22_000;
    /// <summary>Share of code (easy tier) in the pretraining mixture; the rest is short arithmetic and knowledge items.</summary>
    public double CodeShare { get; init; } = 0.8;
    public int BatchSize { get; init; } = 4;
    public int SequenceLength { get; init; } = 128;
    public double LearningRate { get; init; } = 8e-3;
    /// <summary>Warmup as a share of each run's steps, so every run has the same schedule shape.</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>Validation batches for the final loss (the same held-out tokens for every run).</summary>
    public int EvalBatches { get; init; } = 64;
    public string CodeTier { get; init; } = "easy";
    public int CodeProblems { get; init; } = 16;
    public int SamplesPerProblem { get; init; } = 8;
    public double Temperature { get; init; } = 0.4;
    public int MaxNewTokens { get; init; } = 48;
    public int SandboxWorkers { get; init; } = 4;
    public long Seed { get; init; } = 1337;
    public string Device { get; init; } = "cpu";

    public ScalingSettings Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid scaling setting: {what}."); }
        Require(FittedWidths.Count >= 3, $"at least 3 fitted widths are needed for a three-parameter fit (got {FittedWidths.Count})");
        Require(Heads >= 1 && FittedWidths.Concat([TargetWidth]).All(w => w > 0 && w % (2 * Heads) == 0),
            $"every width must be a positive multiple of twice the head count {Heads} (rotary embeddings need an even head width)");
        Require(FittedWidths.Distinct().Count() == FittedWidths.Count, "the fitted widths must differ");
        Require(TargetWidth > FittedWidths.Max(), $"the target width {TargetWidth} must be larger than every fitted width");
        Require(Layers >= 1, $"layers must be positive (got {Layers})");
        Require(TokensPerParameter > 0, $"tokens per parameter must be positive (got {TokensPerParameter})");
        Require(WarmupFraction is >= 0 and < 1, $"warmup fraction must be in [0, 1) (got {WarmupFraction})");
        Require(CodeShare is > 0 and <= 1, $"code share must be in (0, 1] (got {CodeShare})");
        Require(SamplesPerProblem >= 1 && CodeProblems >= 1, "code problems and samples per problem must be positive");
        return this;
    }

    public GptConfig ModelFor(int width, int vocabSize) => new()
    {
        VocabSize = vocabSize, ContextLength = SequenceLength + MaxNewTokens + 128, DModel = width, Layers = Layers,
        Heads = Heads, KvHeads = Heads,
        // 8/3 of the width as Llama, but rounded to 8 rather than 64 so tiny widths grow smoothly.
        FfnHidden = (8 * width / 3 + 7) / 8 * 8,
    };

    /// <summary>Same recipe for every size: steps from tokens = ratio × parameters, warmup a fixed share of them.</summary>
    public TrainConfig TrainFor(GptConfig model)
    {
        long tokensPerStep = (long)BatchSize * SequenceLength;
        int steps = (int)Math.Max(1, Math.Round(TokensPerParameter * model.ParameterCount / tokensPerStep));
        return new TrainConfig
        {
            Steps = steps, BatchSize = BatchSize, SequenceLength = SequenceLength, LearningRate = LearningRate,
            WarmupSteps = (int)Math.Round(WarmupFraction * steps), EvalEvery = steps, EvalBatches = EvalBatches,
            CheckpointEvery = 0, Seed = Seed,
        };
    }

    /// <summary>The pretraining mixture: mostly easy code, so small models get far enough on code for the metric to move.</summary>
    public Mixture Corpus() => new()
    {
        Seed = Seed, Count = CorpusDocuments,
        Weights = new() { ["code"] = CodeShare, ["arithmetic"] = (1 - CodeShare) / 2, ["knowledge"] = (1 - CodeShare) / 2 },
        MaxDifficulty = new() { ["code"] = Array.IndexOf(Curriculum.Code.CodeFamily.TierNames, CodeTier) + 1, ["arithmetic"] = 2 },
    };
}

/// <summary>One planned run of the sweep.</summary>
public sealed record SweepRunPlan(string Name, int Width, long Parameters, long Tokens, int Steps, double Compute, bool HeldOut);

/// <summary>What one run measured.</summary>
public sealed record SweepPoint(SweepRunPlan Plan, long TokensSeen, double Compute, double FinalLoss, CodeTierScore Code, double TrainSeconds);

/// <summary>A prediction made before the held-out run trained, and (after it) the actual value.</summary>
public sealed record Prediction(string Metric, PowerLawFitResult Fit, double Compute, double Predicted)
{
    public double? Actual { get; init; }
    public double? RelativeError => Actual is { } a ? Math.Abs(Predicted - a) / Math.Abs(a) : null;
}

public sealed record ScalingResult(
    string ComputeDefinition, IReadOnlyList<SweepPoint> Points, Prediction Loss, Prediction Code, double ComputeRatio, string CodeMetricRule, double Seconds);

/// <summary>Callbacks that let a front end show the sweep as it runs.</summary>
public interface ISweepObserver
{
    void Log(string message) { }
    /// <summary>A run is about to train; the returned progress receives its steps.</summary>
    IProgress<TrainProgress>? RunStarting(SweepRunPlan plan) => null;
    void RunFinished(SweepPoint point) { }
    /// <summary>Called with both predictions before the held-out run starts training.</summary>
    void Predicted(Prediction loss, Prediction code) { }
}

public static class ScalingSweep
{
    public const string ComputeDefinition = "C = training FLOPs per token (6·N + 12·L·T·d, GptConfig.TrainingFlopsPerToken at the training sequence length T) × tokens trained";
    public const string CodeMetricRule = "−mean over problems of log((c + 1) / (n + 2)), c passes of n samples (add-one smoothing so unsolved problems count)";

    /// <summary>The runs in training order (fitted sizes, then the held-out one), after checking the compute ratio.</summary>
    public static IReadOnlyList<SweepRunPlan> Plan(ScalingSettings settings, int vocabSize)
    {
        settings.Validate();
        var plans = settings.FittedWidths.Order().Select(w => PlanOne(settings, w, vocabSize, heldOut: false))
            .Append(PlanOne(settings, settings.TargetWidth, vocabSize, heldOut: true)).ToList();
        double ratio = plans[^1].Compute / plans[^2].Compute;
        if (ratio < settings.MinComputeRatio)
            throw new UserError($"The held-out run has only {ratio:F1}x the compute of the largest fitted run; raise --target-width or lower the fitted widths to reach {settings.MinComputeRatio}x.");
        return plans;
    }

    static SweepRunPlan PlanOne(ScalingSettings s, int width, int vocabSize, bool heldOut)
    {
        var model = s.ModelFor(width, vocabSize).Validate();
        var train = s.TrainFor(model);
        long tokens = train.Steps * train.TokensPerStep;
        return new SweepRunPlan($"{(heldOut ? "target" : "fit")}-d{width}", width, model.ParameterCount, tokens, train.Steps,
            model.TrainingFlopsPerToken(s.SequenceLength) * tokens, heldOut);
    }

    public static async Task<ScalingResult> RunAsync(ScalingSettings settings, ISweepObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= new SilentObserver();
        Plan(settings, settings.VocabSize); // fail on a too-small target before minutes of data preparation
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outDir = Path.GetFullPath(settings.OutDirectory);
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new UserError($"{outDir} is not empty; choose a new --out directory for the sweep.");
        var (tokenizerDir, dataDir) = PrepareSharedData(settings, outDir, observer);
        var tokenizer = Tokenizers.Load(tokenizerDir);
        var plans = Plan(settings, tokenizer.VocabSize);
        var problems = CodePassRate.Problems(settings.CodeTier, settings.CodeProblems, settings.Seed);
        var sandbox = new PythonSandbox();
        observer.Log($"{plans.Count - 1} fitted runs from {plans[0].Compute:G3} to {plans[^2].Compute:G3} FLOPs; held-out run {plans[^1].Compute:G3} FLOPs ({plans[^1].Compute / plans[^2].Compute:F1}x the largest fitted); code metric on {problems.Count} {settings.CodeTier} problems x {settings.SamplesPerProblem} samples ({sandbox.Isolation}).");

        var points = new List<SweepPoint>();
        Prediction? loss = null, code = null;
        foreach (var plan in plans)
        {
            if (plan.HeldOut)
            {
                loss = Predict("validation loss", points, p => p.FinalLoss, plan.Compute);
                code = Predict($"−mean log pass rate ({settings.CodeTier})", points, p => p.Code.MeanLogPassRate, plan.Compute);
                observer.Predicted(loss, code);
            }
            var point = await TrainAndMeasure(settings, plan, Path.Combine(outDir, "runs", plan.Name), dataDir, tokenizerDir, problems, sandbox, observer, cancel);
            points.Add(point);
            observer.RunFinished(point);
        }
        var target = points[^1];
        return new ScalingResult(ComputeDefinition, points,
            loss! with { Actual = target.FinalLoss }, code! with { Actual = target.Code.MeanLogPassRate },
            target.Compute / points[^2].Compute, CodeMetricRule, clock.Elapsed.TotalSeconds);
    }

    static Prediction Predict(string metric, IReadOnlyList<SweepPoint> fitted, Func<SweepPoint, double> value, double compute)
    {
        var fit = PowerLawFit.Fit(fitted.Select(p => p.Compute).ToList(), fitted.Select(value).ToList());
        return new Prediction(metric, fit, compute, fit.Law.At(compute));
    }

    /// <summary>One tokenizer and one set of shards for every run, built once in OUT/shared.</summary>
    static (string TokenizerDir, string DataDir) PrepareSharedData(ScalingSettings settings, string outDir, ISweepObserver observer)
    {
        var shared = Path.Combine(outDir, "shared");
        var tokenizerDir = Path.Combine(shared, ModelBundle.TokenizerDirectory);
        var dataDir = Path.Combine(shared, "data");
        var corpus = settings.Corpus();
        observer.Log($"Training a {settings.VocabSize}-token BPE on {settings.CorpusDocuments:N0} curriculum documents ({settings.CodeShare:P0} {settings.CodeTier} code)...");
        BpeTrainer.Train(corpus.PretrainDocuments(), settings.VocabSize).Save(tokenizerDir);
        var tokenizer = Tokenizers.Load(tokenizerDir);
        observer.Log("Encoding the corpus into shared token shards...");
        var summary = TokenShardWriter.Prepare(corpus.PretrainDocuments(), tokenizer, dataDir, validationFraction: 0.05, seed: settings.Seed);
        observer.Log($"Shared data: {summary.TrainTokens:N0} training and {summary.ValidationTokens:N0} validation tokens.");
        return (tokenizerDir, dataDir);
    }

    static async Task<SweepPoint> TrainAndMeasure(ScalingSettings settings, SweepRunPlan plan, string runDir, string dataDir, string tokenizerDir,
        IReadOnlyList<Evaluation.Code.CodeProblem> problems, PythonSandbox sandbox, ISweepObserver observer, CancellationToken cancel)
    {
        var model = settings.ModelFor(plan.Width, Tokenizers.Load(tokenizerDir).VocabSize);
        var pretrain = new PretrainSettings
        {
            OutDirectory = runDir, DataDirectory = dataDir, Tokenizer = tokenizerDir,
            Model = model, Train = settings.TrainFor(model),
            Device = settings.Device, MeasureMfu = false, SamplePrompts = [],
        };
        var result = Pretraining.Run(pretrain, resume: false, observer.RunStarting(plan), observer.Log, cancel);
        cancel.ThrowIfCancellationRequested();
        if (!result.Completed || result.FinalValidationLoss is not { } finalLoss)
            throw new InvalidOperationException($"run {plan.Name} ended without a final validation loss");
        observer.Log($"{plan.Name}: sampling {settings.CodeProblems} x {settings.SamplesPerProblem} {settings.CodeTier} code completions and running them in the sandbox...");
        using var bundle = ModelBundle.Load(result.CheckpointDirectory);
        var code = await CodePassRate.MeasureAsync(bundle.Model, bundle.Tokenizer, problems, settings.SamplesPerProblem, settings.Temperature,
            settings.MaxNewTokens, settings.Seed, sandbox, settings.SandboxWorkers, cancel);
        double compute = pretrain.Model.TrainingFlopsPerToken(settings.SequenceLength) * result.TokensSeen;
        return new SweepPoint(plan, result.TokensSeen, compute, finalLoss, code, result.TrainSeconds);
    }

    sealed class SilentObserver : ISweepObserver;
}
