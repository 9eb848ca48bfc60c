using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Data;
using Gpt4Sharp.Evaluation.Code;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Scaling;

/// <summary>
/// A compute sweep with one shared recipe: every model has the same depth, head count, data,
/// batch, learning rate and seed; only the width changes. Every fitted run trains for the same
/// compute (the compute the largest fitted width needs for <see cref="TokensPerParameter"/>
/// tokens per parameter) with a learning rate that is constant after a fixed warmup, so each
/// learning curve, measured at log-spaced steps, is a series of honest shorter runs; the laws
/// are fitted on the compute-efficient frontier of those curves (Kaplan et al. 2020), each
/// width's curve being the mean over <see cref="FitSeeds"/> seeds. The held-out run is one
/// larger model trained with the same recipe for <see cref="MinComputeRatio"/> times the compute
/// of the largest fitted run.
/// </summary>
public sealed record ScalingSettings
{
    public string OutDirectory { get; init; } = "runs/scaling";
    /// <summary>Model widths of the runs the laws are fitted on.</summary>
    public IReadOnlyList<int> FittedWidths { get; init; } = [16, 24, 32, 40];
    /// <summary>
    /// Width of the held-out run that is predicted, then trained. The default 96 (259k parameters)
    /// follows Chinchilla's N_opt ∝ C^0.5 from the fitted runs' best size at their compute (widths
    /// 32–40, 38k–55k parameters, equally good): 30x the compute, √30 ≈ 5.5x the parameters.
    /// </summary>
    public int TargetWidth { get; init; } = 96;
    public int Layers { get; init; } = 2;
    /// <summary>Attention heads at every width (the head width grows with the model, as in Kaplan et al.'s width sweeps).</summary>
    public int Heads { get; init; } = 1;
    /// <summary>
    /// Sets the fitted runs' compute: every fitted run trains for the FLOPs the largest fitted
    /// width needs to see this many tokens per parameter (embeddings included); smaller widths
    /// therefore see more tokens, as the compute-efficient frontier needs.
    /// </summary>
    public double TokensPerParameter { get; init; } = 10;
    /// <summary>The held-out run trains for this many times the compute of the largest fitted run.</summary>
    public double MinComputeRatio { get; init; } = 30;
    public int VocabSize { get; init; } = 384;
    /// <summary>Curriculum documents in the shared corpus: enough that no run, the held-out one included, sees a token twice (checked after the corpus is built).</summary>
    public int CorpusDocuments { get; init; } = 48_000;
    /// <summary>Share of code (easy tier) in the pretraining mixture; the rest is short arithmetic and knowledge items.</summary>
    public double CodeShare { get; init; } = 0.8;
    public int BatchSize { get; init; } = 4;
    public int SequenceLength { get; init; } = 128;
    public double LearningRate { get; init; } = 8e-3;
    /// <summary>Linear warmup steps, the same count for every run; after it the rate stays constant (no decay), so a curve's point at step s equals a run of s steps.</summary>
    public int WarmupSteps { get; init; } = 50;
    /// <summary>
    /// Every measurement and the final model use an exponential moving average of the weights whose
    /// window is this share of the steps so far (Polyak averaging; Karras et al. 2024 scale the EMA
    /// length with training time the same way). It depends on the step only, so curves stay
    /// horizon-free, and it removes the step-to-step noise a constant learning rate leaves; 0 turns
    /// it off.
    /// </summary>
    public double AverageFraction { get; init; } = 0.1;
    /// <summary>
    /// Seeds (initialisation and data order) per fitted width; the laws are fitted on the mean of
    /// each width's curves. With one seed, the frontier law's 30x prediction moved from 0.29 to 0.55
    /// between seeds whose final losses differ by ±3 %: the fit's variance, not its rmse, dominates
    /// its error, and averaging seeds is the direct way to cut it. The held-out run trains once,
    /// with <see cref="Seed"/>.
    /// </summary>
    public int FitSeeds { get; init; } = 3;
    /// <summary>Validation batches for every loss measurement (the same held-out tokens for every run and step).</summary>
    public int EvalBatches { get; init; } = 64;
    /// <summary>Log-spaced measurements (validation loss and code likelihood) along each run.</summary>
    public int CurvePoints { get; init; } = 24;
    /// <summary>
    /// The laws are fitted on the frontier from the fitted compute divided by this to the fitted
    /// compute. The default 3 keeps the part formed by the largest fitted models well past their
    /// first steps; lower down the frontier is made of runs a few hundred steps old and bends (see
    /// <see cref="ScalingSweep.SensitivitySpans"/> for what wider spans predict).
    /// </summary>
    public double FrontierSpan { get; init; } = 3;
    /// <summary>Log-spaced compute levels of the frontier that the laws are fitted on.</summary>
    public int FrontierPoints { get; init; } = 16;
    public string CodeTier { get; init; } = "easy";
    /// <summary>Held-out problems whose reference solutions' likelihood is the continuous code metric.</summary>
    public int ReferenceProblems { get; init; } = 64;
    /// <summary>Held-out problems sampled at the end of each run for the pass rate.</summary>
    public int CodeProblems { get; init; } = 16;
    public int SamplesPerProblem { get; init; } = 8;
    public double Temperature { get; init; } = 0.4;
    public int MaxNewTokens { get; init; } = 48;
    public int SandboxWorkers { get; init; } = 4;
    public long Seed { get; init; } = 1337;
    public string Device { get; init; } = "cpu";

    /// <summary>A sweep that exercises every part in about a minute on 2 CPU cores; its numbers mean nothing.</summary>
    public static ScalingSettings Tiny(string outDirectory) => new()
    {
        OutDirectory = outDirectory, FittedWidths = [4, 6, 8], TargetWidth = 16, TokensPerParameter = 2, MinComputeRatio = 3,
        VocabSize = 300, CorpusDocuments = 400, BatchSize = 2, SequenceLength = 32, WarmupSteps = 2, EvalBatches = 2, CurvePoints = 6,
        FrontierSpan = 4, FrontierPoints = 6, FitSeeds = 1, ReferenceProblems = 4, CodeProblems = 2, SamplesPerProblem = 2, MaxNewTokens = 8, SandboxWorkers = 1,
    };

    public ScalingSettings Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid scaling setting: {what}."); }
        Require(FittedWidths.Count >= 3, $"at least 3 fitted widths are needed for a three-parameter fit (got {FittedWidths.Count})");
        Require(Heads >= 1 && FittedWidths.Concat([TargetWidth]).All(w => w > 0 && w % (2 * Heads) == 0),
            $"every width must be a positive multiple of twice the head count {Heads} (rotary embeddings need an even head width)");
        Require(FittedWidths.Distinct().Count() == FittedWidths.Count, "the fitted widths must differ");
        Require(FitSeeds >= 1, $"fit seeds must be at least 1 (got {FitSeeds})");
        Require(TargetWidth > FittedWidths.Max(), $"the target width {TargetWidth} must be larger than every fitted width");
        Require(Layers >= 1, $"layers must be positive (got {Layers})");
        Require(TokensPerParameter > 0, $"tokens per parameter must be positive (got {TokensPerParameter})");
        Require(MinComputeRatio >= 1, $"the held-out run's compute ratio must be at least 1 (got {MinComputeRatio})");
        Require(AverageFraction >= 0, $"the weight-average fraction must be 0 (off) or positive (got {AverageFraction})");
        Require(WarmupSteps >= 0, $"warmup steps must be 0 or more (got {WarmupSteps})");
        Require(CurvePoints >= 2 && FrontierPoints >= 3, "a run needs at least 2 curve points and the frontier at least 3 points");
        Require(FrontierSpan > 1, $"the frontier span must exceed 1 (got {FrontierSpan})");
        Require(CodeShare is > 0 and <= 1, $"code share must be in (0, 1] (got {CodeShare})");
        Require(SamplesPerProblem >= 1 && CodeProblems >= 1 && ReferenceProblems >= 1, "code problems and samples per problem must be positive");
        return this;
    }

    public GptConfig ModelFor(int width, int vocabSize) => new()
    {
        VocabSize = vocabSize, ContextLength = SequenceLength + MaxNewTokens + 128, DModel = width, Layers = Layers,
        Heads = Heads, KvHeads = Heads,
        // 8/3 of the width as Llama, but rounded to 8 rather than 64 so tiny widths grow smoothly.
        FfnHidden = (8 * width / 3 + 7) / 8 * 8,
    };

    /// <summary>The shared optimisation recipe for a run of <paramref name="steps"/> steps: fixed warmup, then a constant rate (no decay).</summary>
    public TrainConfig TrainFor(int steps) => new()
    {
        Steps = steps, BatchSize = BatchSize, SequenceLength = SequenceLength, LearningRate = LearningRate, MinLearningRateRatio = 1,
        WarmupSteps = WarmupSteps, EvalEvery = 0, EvalBatches = EvalBatches, CheckpointEvery = 1, Seed = Seed,
    };

    /// <summary>The pretraining mixture: mostly easy code, so small models get far enough on code for the metric to move.</summary>
    public Mixture Corpus() => new()
    {
        Seed = Seed, Count = CorpusDocuments,
        Weights = new() { ["code"] = CodeShare, ["arithmetic"] = (1 - CodeShare) / 2, ["knowledge"] = (1 - CodeShare) / 2 },
        MaxDifficulty = new() { ["code"] = Array.IndexOf(Curriculum.Code.CodeFamily.TierNames, CodeTier) + 1, ["arithmetic"] = 2 },
    };

    /// <summary>The steps after which a run of <paramref name="steps"/> steps is measured: log-spaced from the end of warmup to the last step.</summary>
    public IReadOnlyList<int> CurveSteps(int steps)
    {
        int first = Math.Clamp(2 * WarmupSteps, 1, steps);
        return Enumerable.Range(0, CurvePoints)
            .Select(i => (int)Math.Round(first * Math.Pow((double)steps / first, (double)i / (CurvePoints - 1))))
            .Append(steps).Distinct().Order().ToList();
    }
}

/// <summary>One planned run of the sweep. <see cref="Seed"/> seeds its initialisation, data order and sampling.</summary>
public sealed record SweepRunPlan(string Name, int Width, long Parameters, long Tokens, int Steps, double Compute, bool HeldOut)
{
    public long Seed { get; init; }
}

/// <summary>What one run measured. <see cref="Curve"/> holds the log-spaced measurements along the run; the last one is the final.</summary>
public sealed record SweepPoint(SweepRunPlan Plan, long TokensSeen, double Compute, double FinalLoss, CodeTierScore Code, double TrainSeconds)
{
    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    /// <summary>Mean −log P(reference solution | prompt) in nats at the end of the run.</summary>
    public double FinalCodeNll { get; init; }
}

/// <summary>A prediction made before the held-out run trained, and (after it) the actual value. <see cref="Frontier"/> holds the points the law was fitted on.</summary>
public sealed record Prediction(string Metric, PowerLawFitResult Fit, double Compute, double Predicted)
{
    public double? Actual { get; init; }
    public double? RelativeError => Actual is { } a ? Math.Abs(Predicted - a) / Math.Abs(a) : null;
    public IReadOnlyList<FrontierPoint> Frontier { get; init; } = [];
}

/// <summary>
/// The loss of the held-out run predicted by the parametric law L(N, D) of <see cref="ParametricLawFit"/>,
/// fitted on every measurement of the fitted runs' (seed-averaged) curves in the frontier's compute window.
/// </summary>
public sealed record ParametricPrediction(string Metric, ParametricFitResult Fit, double Parameters, double Tokens, double Predicted)
{
    public double? Actual { get; init; }
    public double? RelativeError => Actual is { } a ? Math.Abs(Predicted - a) / Math.Abs(a) : null;
}

/// <summary>
/// The sweep's outcome. <see cref="Code"/> predicts the continuous code metric (reference-solution
/// likelihood); the sampled pass rates are in each point's <see cref="SweepPoint.Code"/>.
/// <see cref="LossBacktest"/> checks the method inside the fitted data alone: a law fitted on the
/// same frontier span a quarter lower, predicting the frontier at the fitted compute.
/// </summary>
public sealed record ScalingResult(
    string ComputeDefinition, IReadOnlyList<SweepPoint> Points, Prediction Loss, Prediction Code, double ComputeRatio, string CodeMetricRule, double Seconds)
{
    public Prediction? LossBacktest { get; init; }
    /// <summary>The loss predicted with each of <see cref="ScalingSweep.SensitivitySpans"/> (all made before the held-out run trained).</summary>
    public IReadOnlyList<Prediction> LossBySpan { get; init; } = [];
    /// <summary>The second loss predictor: Chinchilla's L(N, D) at the held-out run's parameters and tokens.</summary>
    public ParametricPrediction? LossParametric { get; init; }
    /// <summary>The parametric predictor's backtest, the same as <see cref="LossBacktest"/>'s (data up to a quarter of the fitted compute, predicting the frontier at it).</summary>
    public ParametricPrediction? ParametricBacktest { get; init; }
    /// <summary>Which loss predictor is the headline (<see cref="ScalingSweep.FrontierPredictor"/> or <see cref="ScalingSweep.ParametricPredictor"/>), chosen by the backtests before the held-out run trained.</summary>
    public string HeadlinePredictor { get; init; } = ScalingSweep.FrontierPredictor;
    /// <summary>The headline loss prediction and its error.</summary>
    public double HeadlineLossPredicted => HeadlinePredictor == ScalingSweep.ParametricPredictor && LossParametric is { } p ? p.Predicted : Loss.Predicted;
    public double? HeadlineLossError => HeadlinePredictor == ScalingSweep.ParametricPredictor && LossParametric is { } p ? p.RelativeError : Loss.RelativeError;
}

/// <summary>What <see cref="ScalingSweep.Predict"/> derives from the fitted runs.</summary>
public sealed record SweepPredictions(Prediction Loss, Prediction Code, Prediction Backtest, IReadOnlyList<Prediction> LossBySpan)
{
    /// <summary>Chinchilla's L(N, D) at the held-out run (null when <see cref="ScalingSweep.Predict"/> was not given the held-out plan).</summary>
    public ParametricPrediction? Parametric { get; init; }
    /// <summary>L(N, D) fitted on the backtest's data, predicting the same frontier point as <see cref="Backtest"/>.</summary>
    public ParametricPrediction? ParametricBacktest { get; init; }
    /// <summary>The predictor with the smaller backtest error; the frontier law on a tie or without a parametric prediction.</summary>
    public string Headline { get; init; } = ScalingSweep.FrontierPredictor;
    /// <summary>The headline predictor's loss prediction.</summary>
    public double HeadlinePredicted => Headline == ScalingSweep.ParametricPredictor && Parametric is { } p ? p.Predicted : Loss.Predicted;
}

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
    public const string CodeMetricRule = "mean over held-out problems of −log P(reference solution | prompt) in nats (an upper bound on −log pass rate at temperature 1); pass rates of sampled programs are reported beside it";
    public const string LossMetric = "validation loss";
    public const string FrontierPredictor = "frontier L(C)", ParametricPredictor = "parametric L(N, D)";

    /// <summary>
    /// The runs in training order: the fitted sizes, each trained for the compute the largest of
    /// them needs for the settings' tokens per parameter, then the held-out run with the settings'
    /// compute ratio over the largest fitted run.
    /// </summary>
    public static IReadOnlyList<SweepRunPlan> Plan(ScalingSettings settings, int vocabSize)
    {
        settings.Validate();
        long tokensPerStep = (long)settings.BatchSize * settings.SequenceLength;
        var largest = settings.ModelFor(settings.FittedWidths.Max(), vocabSize).Validate();
        double fittedCompute = settings.TokensPerParameter * largest.ParameterCount * largest.TrainingFlopsPerToken(settings.SequenceLength);
        var firstSeed = settings.FittedWidths.Order().Select(w => PlanOne(settings, w, vocabSize, fittedCompute, Math.Round, heldOut: false)).ToList();
        // Extra seeds of every fitted width train after the first seed of all widths, as the same plans with another seed.
        var fitted = firstSeed.Concat(Enumerable.Range(1, settings.FitSeeds - 1)
            .SelectMany(k => firstSeed.Select(p => p with { Name = $"{p.Name}-seed{k + 1}", Seed = settings.Seed + k }))).ToList();
        var target = PlanOne(settings, settings.TargetWidth, vocabSize, settings.MinComputeRatio * fitted.Max(p => p.Compute), Math.Ceiling, heldOut: true);
        var plans = fitted.Append(target).ToList();
        if (plans.FirstOrDefault(p => p.Steps <= 2 * settings.WarmupSteps) is { } short_)
            throw new UserError($"Run {short_.Name} would train only {short_.Steps} steps, no more than twice the {settings.WarmupSteps}-step warmup; raise --tokens-per-param or lower --warmup.");
        return plans;
    }

    static SweepRunPlan PlanOne(ScalingSettings s, int width, int vocabSize, double compute, Func<double, double> round, bool heldOut)
    {
        var model = s.ModelFor(width, vocabSize).Validate();
        double perStep = model.TrainingFlopsPerToken(s.SequenceLength) * s.BatchSize * s.SequenceLength;
        int steps = (int)Math.Max(1, round(compute / perStep));
        long tokens = (long)steps * s.BatchSize * s.SequenceLength;
        return new SweepRunPlan($"{(heldOut ? "target" : "fit")}-d{width}", width, model.ParameterCount, tokens, steps, steps * perStep, heldOut) { Seed = s.Seed };
    }

    public static async Task<ScalingResult> RunAsync(ScalingSettings settings, ISweepObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= new SilentObserver();
        Plan(settings, settings.VocabSize); // fail on bad settings before minutes of data preparation
        TorchRuntime.EnsureLoaded();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outDir = Path.GetFullPath(settings.OutDirectory);
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new UserError($"{outDir} is not empty; choose a new --out directory for the sweep.");
        var (tokenizerDir, dataDir, trainTokens) = PrepareSharedData(settings, outDir, observer);
        var tokenizer = Tokenizers.Load(tokenizerDir);
        var plans = Plan(settings, tokenizer.VocabSize);
        // Scaling laws describe single-epoch training; a run that repeats data flattens for another reason.
        if (plans.MaxBy(p => p.Tokens) is { } longest && longest.Tokens > trainTokens)
            throw new UserError($"Run {longest.Name} would train on {longest.Tokens:N0} tokens but the corpus has only {trainTokens:N0}; raise --corpus-docs so that no run repeats data.");
        var problems = CodePassRate.Problems(settings.CodeTier, Math.Max(settings.CodeProblems, settings.ReferenceProblems), settings.Seed);
        var sampled = problems.Take(settings.CodeProblems).ToList();
        var sandbox = new PythonSandbox();
        observer.Log($"{plans.Count - 1} fitted runs of {plans[0].Compute:G3} FLOPs each; held-out run {plans[^1].Compute:G3} FLOPs ({plans[^1].Compute / plans.Where(p => !p.HeldOut).Max(p => p.Compute):F1}x the largest fitted); code likelihood on {problems.Count} {settings.CodeTier} problems, pass rate on {sampled.Count} x {settings.SamplesPerProblem} samples ({sandbox.Isolation}).");

        var points = new List<SweepPoint>();
        SweepPredictions? predicted = null;
        foreach (var plan in plans)
        {
            if (plan.HeldOut)
            {
                predicted = Predict(settings, points, plan);
                observer.Log($"Loss predicted with other frontier spans: {string.Join(", ", predicted.LossBySpan.Select(p => $"{p.Metric[(LossMetric.Length + 2)..]} -> {p.Predicted:F4}"))}.");
                observer.Log($"Backtests (data up to a quarter of the fitted compute, predicting the frontier at it, {predicted.Backtest.Actual:F4}): {FrontierPredictor} {predicted.Backtest.Predicted:F4} ({predicted.Backtest.RelativeError:P1} error)"
                    + (predicted.ParametricBacktest is { } pb ? $", {ParametricPredictor} {pb.Predicted:F4} ({pb.RelativeError:P1})." : $"; too few curve points for {ParametricPredictor}."));
                if (predicted.Parametric is { } pp)
                    observer.Log($"{ParametricPredictor}: fit {pp.Fit.Law} on {pp.Fit.Points} curve points (rmse {pp.Fit.RootMeanSquareError:G3}) -> predicted {pp.Predicted:F4} for N = {pp.Parameters:N0}, D = {pp.Tokens:N0}.");
                observer.Log($"Headline loss predictor (smaller backtest error): {predicted.Headline} -> {predicted.HeadlinePredicted:F4}.");
                observer.Predicted(predicted.Loss, predicted.Code);
            }
            var point = await TrainAndMeasure(settings, plan, dataDir, tokenizer, problems, sampled, sandbox, observer, cancel);
            points.Add(point);
            observer.RunFinished(point);
        }
        var target = points[^1];
        return new ScalingResult(ComputeDefinition, points,
            predicted!.Loss with { Actual = target.FinalLoss }, predicted.Code with { Actual = target.FinalCodeNll },
            target.Compute / points[..^1].Max(p => p.Compute), CodeMetricRule, clock.Elapsed.TotalSeconds)
        {
            LossBacktest = predicted.Backtest,
            LossBySpan = [.. predicted.LossBySpan.Select(p => p with { Actual = target.FinalLoss })],
            LossParametric = predicted.Parametric is { } parametric ? parametric with { Actual = target.FinalLoss } : null,
            ParametricBacktest = predicted.ParametricBacktest,
            HeadlinePredictor = predicted.Headline,
        };
    }

    /// <summary>Frontier spans whose loss predictions are reported beside the chosen one, to show how much the choice matters.</summary>
    public static readonly IReadOnlyList<double> SensitivitySpans = [3, 5, 10, 30];

    /// <summary>
    /// Everything predicted from the fitted runs alone, before the held-out run trains: both laws at
    /// the held-out compute; the same loss method one step down (a law fitted on the same span a
    /// quarter lower, predicting the frontier at the fitted compute), checkable without the held-out
    /// run; and the loss prediction for each of <see cref="SensitivitySpans"/>. Runs of one width
    /// with different seeds count as one curve, their mean.
    /// </summary>
    public static SweepPredictions Predict(ScalingSettings settings, IReadOnlyList<SweepPoint> fitted, double compute) =>
        PredictFrom(settings, MeanBySize(fitted), compute);

    /// <summary>
    /// <see cref="Predict(ScalingSettings, IReadOnlyList{SweepPoint}, double)"/> plus the parametric
    /// predictor for <paramref name="heldOut"/> (Chinchilla's L(N, D) fitted on the same window of
    /// the curves), its backtest on the same data as the frontier law's, and the headline: whichever
    /// backtest error is smaller. Only fitted runs are read, so this can run before the held-out run.
    /// </summary>
    public static SweepPredictions Predict(ScalingSettings settings, IReadOnlyList<SweepPoint> fitted, SweepRunPlan heldOut)
    {
        var sizes = MeanBySize(fitted);
        var frontier = PredictFrom(settings, sizes, heldOut.Compute);
        double top = sizes.Max(p => p.Compute);
        // Each curve point is a run of that many tokens: the schedule is constant after warmup.
        List<LossObservation> Observations(double to) => [.. sizes.SelectMany(p => p.Curve
            .Where(c => c.Compute >= to / settings.FrontierSpan * (1 - 5e-3) && c.Compute <= to * (1 + 5e-3))
            .Select(c => new LossObservation(p.Plan.Parameters, (double)c.Step * p.Plan.Tokens / p.Plan.Steps, c.Loss)))];
        List<LossObservation> observations = Observations(top), backObservations = Observations(top / 4);
        // A sweep with too few curve points in the window (the tiny test sweeps) keeps the frontier law alone.
        if (!ParametricLawFit.HasEnoughData(observations) || !ParametricLawFit.HasEnoughData(backObservations)) return frontier;
        var fit = ParametricLawFit.Fit(observations);
        var parametric = new ParametricPrediction(LossMetric, fit, heldOut.Parameters, heldOut.Tokens, fit.Law.At(heldOut.Parameters, heldOut.Tokens));
        // The backtest's frontier at the fitted compute is the best fitted size there, each at its final token count.
        var backFit = ParametricLawFit.Fit(backObservations);
        var best = sizes.MinBy(p => backFit.Law.At(p.Plan.Parameters, p.Plan.Tokens))!.Plan;
        var backtest = new ParametricPrediction(LossMetric, backFit, best.Parameters, best.Tokens, backFit.Law.At(best.Parameters, best.Tokens)) { Actual = frontier.Backtest.Actual };
        string headline = backtest.RelativeError < frontier.Backtest.RelativeError ? ParametricPredictor : FrontierPredictor;
        return frontier with { Parametric = parametric, ParametricBacktest = backtest, Headline = headline };
    }

    /// <summary>One point per fitted width: the mean over its seeds of every curve measurement and of the final values.</summary>
    static IReadOnlyList<SweepPoint> MeanBySize(IReadOnlyList<SweepPoint> fitted) =>
        [.. fitted.GroupBy(p => p.Plan.Width).Select(g =>
        {
            var first = g.First();
            if (g.Count() == 1) return first;
            var curve = first.Curve.Select((c, i) => c with { Loss = g.Average(p => p.Curve[i].Loss), CodeNll = g.Average(p => p.Curve[i].CodeNll) }).ToList();
            return first with { Curve = curve, FinalLoss = curve[^1].Loss, FinalCodeNll = curve[^1].CodeNll };
        })];

    static SweepPredictions PredictFrom(ScalingSettings settings, IReadOnlyList<SweepPoint> fitted, double compute)
    {
        double top = fitted.Max(p => p.Compute);
        List<(string, IReadOnlyList<(double, double)>)> Curves(Func<CurvePoint, double> value) =>
            fitted.Select(p => (p.Plan.Name, (IReadOnlyList<(double, double)>)p.Curve.Select(c => (c.Compute, value(c))).ToList())).ToList();
        Prediction One(string metric, Func<CurvePoint, double> value, double to, double span, double at)
        {
            var frontier = ComputeFrontier.Build(Curves(value), to / span, to, settings.FrontierPoints);
            var fit = PowerLawFit.Fit(frontier.Select(f => f.Compute).ToList(), frontier.Select(f => f.Value).ToList());
            return new Prediction(metric, fit, at, fit.Law.At(at)) { Frontier = frontier };
        }
        var loss = One(LossMetric, c => c.Loss, top, settings.FrontierSpan, compute);
        var code = One($"reference-solution NLL ({settings.CodeTier} code, nats)", c => c.CodeNll, top, settings.FrontierSpan, compute);
        var backtest = One(LossMetric, c => c.Loss, top / 4, settings.FrontierSpan, top)
            with { Actual = ComputeFrontier.Build(Curves(c => c.Loss), top / 2, top, 2)[^1].Value };
        var bySpan = SensitivitySpans.Select(span => One($"{LossMetric}, frontier span {span:G3}", c => c.Loss, top, span, compute)).ToList();
        return new SweepPredictions(loss, code, backtest, bySpan);
    }

    /// <summary>One tokenizer and one set of shards for every run, built once in OUT/shared.</summary>
    static (string TokenizerDir, string DataDir, long TrainTokens) PrepareSharedData(ScalingSettings settings, string outDir, ISweepObserver observer)
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
        return (tokenizerDir, dataDir, summary.TrainTokens);
    }

    /// <summary>Trains one run with the shared recipe, measuring validation loss and code likelihood at its curve steps, then samples code from the final model.</summary>
    static async Task<SweepPoint> TrainAndMeasure(ScalingSettings settings, SweepRunPlan plan, string dataDir, ITokenizer tokenizer,
        IReadOnlyList<CodeProblem> referenceProblems, IReadOnlyList<CodeProblem> sampled, PythonSandbox sandbox, ISweepObserver observer, CancellationToken cancel)
    {
        settings = settings with { Seed = plan.Seed };
        var config = settings.ModelFor(plan.Width, tokenizer.VocabSize).Validate();
        TorchRuntime.Seed(settings.Seed);
        using var model = new GptModel(config, settings.Seed);
        model.to(TorchRuntime.ParseDevice(settings.Device));
        using var data = new ShardData(dataDir, tokenizer, settings.Seed);
        var train = settings.TrainFor(plan.Steps);
        using var trainer = new Trainer(model, train, data);
        var measureAt = settings.CurveSteps(plan.Steps).ToHashSet();
        double flopsPerStep = config.TrainingFlopsPerToken(settings.SequenceLength) * train.TokensPerStep;
        var curve = new List<CurvePoint>();
        using var average = new WeightAverage(model);
        void Measure(Trainer t)
        {
            average.Update(1 - 1 / (settings.AverageFraction * t.State.Step + 1));
            if (measureAt.Contains((int)t.State.Step))
                curve.Add(average.Evaluate(() => new CurvePoint(t.State.Step, t.State.Step * flopsPerStep, t.ValidationLoss(), CodePassRate.ReferenceNll(model, tokenizer, referenceProblems))));
        }
        if (!trainer.Run(observer.RunStarting(plan), Measure, cancel)) cancel.ThrowIfCancellationRequested();
        average.CopyToModel();
        var final = curve[^1];
        observer.Log($"{plan.Name}: sampling {sampled.Count} x {settings.SamplesPerProblem} {settings.CodeTier} code completions and running them in the sandbox...");
        var code = await CodePassRate.MeasureAsync(model, tokenizer, sampled, settings.SamplesPerProblem, settings.Temperature,
            settings.MaxNewTokens, settings.Seed, sandbox, settings.SandboxWorkers, cancel);
        return new SweepPoint(plan, trainer.State.TokensSeen, final.Compute, final.Loss, code, trainer.State.TrainSeconds) { Curve = curve, FinalCodeNll = final.CodeNll };
    }

    sealed class SilentObserver : ISweepObserver;

    /// <summary>An exponential moving average of a model's weights, swapped in for measurements and at the end.</summary>
    sealed class WeightAverage : IDisposable
    {
        readonly torch.Tensor[] weights, average;

        public WeightAverage(GptModel model)
        {
            weights = model.parameters().ToArray();
            using var noGrad = torch.no_grad();
            average = weights.Select(w => w.detach().clone()).ToArray();
        }

        public void Update(double keep)
        {
            using var noGrad = torch.no_grad();
            for (int i = 0; i < weights.Length; i++) average[i].mul_(keep).add_(weights[i], alpha: 1 - keep);
        }

        /// <summary>Runs <paramref name="measure"/> with the averaged weights in the model, then restores the trained ones.</summary>
        public T Evaluate<T>(Func<T> measure)
        {
            using var scope = torch.NewDisposeScope();
            torch.Tensor[] trained;
            using (torch.no_grad())
            {
                trained = weights.Select(w => w.detach().clone()).ToArray();
                for (int i = 0; i < weights.Length; i++) weights[i].copy_(average[i]);
            }
            try { return measure(); }
            finally
            {
                using var noGrad = torch.no_grad();
                for (int i = 0; i < weights.Length; i++) weights[i].copy_(trained[i]);
            }
        }

        public void CopyToModel()
        {
            using var noGrad = torch.no_grad();
            for (int i = 0; i < weights.Length; i++) weights[i].copy_(average[i]);
        }

        public void Dispose()
        {
            foreach (var a in average) a.Dispose();
        }
    }
}
