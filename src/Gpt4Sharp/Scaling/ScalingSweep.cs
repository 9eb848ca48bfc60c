using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text.Json.Serialization;
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
/// batch, learning-rate schedule and seed; only the width changes. The fitted runs form an IsoFLOP
/// grid (Hoffmann et al. 2022, approach 2): <see cref="FrontierPoints"/> compute budgets spanning
/// <see cref="BudgetSpan"/>x up to the fitted compute (what the largest fitted width needs for
/// <see cref="TokensPerParameter"/> tokens per parameter), and at each budget every fitted width
/// whose tokens per parameter there fall inside [<see cref="MinTokensPerParameter"/>,
/// <see cref="MaxTokensPerParameter"/>]. Each run decays its learning rate over its own length, and
/// the laws are fitted on the runs' final values only. The held-out run is one larger model trained
/// with the same recipe for <see cref="MinComputeRatio"/> times the compute of the largest fitted run.
/// </summary>
public sealed record ScalingSettings
{
    public string OutDirectory { get; init; } = "runs/scaling";
    /// <summary>Model widths of the runs the laws are fitted on; each trains at the budgets where its tokens per parameter fall inside the window.</summary>
    public IReadOnlyList<int> FittedWidths { get; init; } = [8, 12, 16, 20, 24, 32, 40];
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
    /// <summary>Peak learning rate at <see cref="LearningRateBaseWidth"/>; other widths scale it by <see cref="LearningRateWidthExponent"/>.</summary>
    public double LearningRate { get; init; } = 8e-3;
    /// <summary>The width at which the peak rate is <see cref="LearningRate"/>.</summary>
    public int LearningRateBaseWidth { get; init; } = 32;
    /// <summary>
    /// A width w trains with peak rate LearningRate·(base width / w)^this: 1 is µP's rule for Adam
    /// (Yang et al. 2022: hidden-matrix updates must shrink as 1/width for the optimum to stay put),
    /// here applied to every parameter group because the trainer has one rate; 0 gives every width
    /// the same rate.
    /// </summary>
    public double LearningRateWidthExponent { get; init; } = 1;
    /// <summary>Linear warmup steps, the same count for every run.</summary>
    public int WarmupSteps { get; init; } = 50;
    /// <summary>
    /// After warmup every run's rate follows a cosine from the peak down to this share of it at its
    /// own last step (Hoffmann et al. 2022 match the cycle to the run's length). Decaying to near zero
    /// gives a lower and far less noisy final loss than a constant rate, for the small and the
    /// held-out model alike; 1 keeps the rate constant.
    /// </summary>
    public double MinLearningRateRatio { get; init; }
    /// <summary>
    /// Measure (and keep as the final model) an exponential moving average of the weights whose
    /// window is this share of the steps so far (Polyak averaging); 0 turns it off. With a decaying
    /// rate the last weights are already an average, so the default is off.
    /// </summary>
    public double AverageFraction { get; init; }
    /// <summary>
    /// Seeds (initialisation and data order) per fitted run; the laws see the mean of each run's
    /// seeds. The held-out run trains <see cref="HeldOutSeeds"/> times. Three by default: one seed's
    /// ±1 % run-to-run scatter, extrapolated 30x from the top four budgets, moved the prediction by
    /// ±20 % (README, "Predictable scaling"); seeds S+1 and S+2 cost twice the fitted compute,
    /// about 1.4x the whole sweep, since the held-out run dominates it.
    /// </summary>
    public int FitSeeds { get; init; } = 3;
    /// <summary>
    /// Seeds of the held-out run: it trains with S, S+1, … and the predictions' actual values are the
    /// means over them. The laws are fitted on each cell's seed mean, so the held-out seed mean is the
    /// comparable quantity; with one seed the held-out run's own scatter is part of the measured
    /// error. One by default: on six corpus seeds the three-seed mean lay within 0.1–1.2 % of the
    /// single run (README, "Predictable scaling", session 8), a small part of the 30x error, while
    /// each seed costs the held-out run's compute again (30 C_fit by default).
    /// </summary>
    public int HeldOutSeeds { get; init; } = 1;
    /// <summary>
    /// Runs trained at once in this process, each with an equal share of libtorch's intra-op threads
    /// (its default, or OMP_NUM_THREADS; at least one each). Every run draws its randomness from its
    /// own seeded generators, so at equal threads per run the results do not depend on this. Small
    /// models use many threads poorly, so with many cores about one worker per core beats one worker
    /// with every thread.
    /// </summary>
    public int Workers { get; init; } = 1;
    /// <summary>Continue the interrupted sweep in <see cref="OutDirectory"/>: runs with a saved point are reused, the rest train.</summary>
    public bool Resume { get; init; }
    /// <summary>Validation batches for every loss measurement (the same held-out tokens for every run and step).</summary>
    public int EvalBatches { get; init; } = 128;
    /// <summary>Log-spaced measurements (validation loss and code likelihood) along each run, for the learning-curve chart; the laws use the last.</summary>
    public int CurvePoints { get; init; } = 6;
    /// <summary>The IsoFLOP grid's compute budgets span from the fitted compute divided by this to the fitted compute.</summary>
    public double BudgetSpan { get; init; } = 27;
    /// <summary>Log-spaced compute budgets of the IsoFLOP grid.</summary>
    public int FrontierPoints { get; init; } = 7;
    /// <summary>
    /// The laws are fitted on the budgets from the fitted compute divided by this up to the fitted
    /// compute: the default 6 takes the top four budgets (C_fit/5.2 … C_fit). Lower budgets are still
    /// in the runs' first steep fall, which no a·C^(−b) + c follows (seed 1337: with them the 30x
    /// prediction fell to 0.26 against 0.41); the sensitivity rows show the other spans.
    /// </summary>
    public double FrontierSpan { get; init; } = 6;
    /// <summary>
    /// Let the backtests choose the headline predictor (the frontier law or L(N, D), whichever backtest
    /// error is smaller). Off by default: the backtest window lies a third lower, where the small runs
    /// are still in their first steep fall, so its errors say little about 30x; the headline is then the
    /// mixture of per-family laws (or the frontier law, see <see cref="FrontierHeadline"/>) and L(N, D) is printed beside it.
    /// </summary>
    public bool HeadlineByBacktest { get; init; }
    /// <summary>
    /// Make the single frontier law the headline again, as it was before session 9. Off by default:
    /// the mixture of per-family laws (<see cref="MixturePrediction"/>) is the headline wherever the runs
    /// have per-family losses, by a rule pre-registered before five sweeps (README, "Predictable
    /// scaling", session 9); the frontier law is printed beside it either way.
    /// </summary>
    public bool FrontierHeadline { get; init; }
    /// <summary>A fitted width trains at a budget only if it sees at least this many tokens per parameter there (larger models would stop in their first transient).</summary>
    public double MinTokensPerParameter { get; init; } = 4;
    /// <summary>... and at most this many (smaller models would be far from the budget's optimal size and cost many steps).</summary>
    public double MaxTokensPerParameter { get; init; } = 60;
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
        VocabSize = 300, CorpusDocuments = 400, BatchSize = 2, SequenceLength = 32, WarmupSteps = 2, EvalBatches = 2, CurvePoints = 3,
        BudgetSpan = 27, FrontierPoints = 4, FrontierSpan = 27, MinTokensPerParameter = 0.2, MaxTokensPerParameter = 100, FitSeeds = 1, ReferenceProblems = 4, CodeProblems = 2, SamplesPerProblem = 2, MaxNewTokens = 8, SandboxWorkers = 1,
    };

    public ScalingSettings Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid scaling setting: {what}."); }
        Require(FittedWidths.Count >= 3, $"at least 3 fitted widths are needed for a three-parameter fit (got {FittedWidths.Count})");
        Require(Heads >= 1 && FittedWidths.Concat([TargetWidth]).All(w => w > 0 && w % (2 * Heads) == 0),
            $"every width must be a positive multiple of twice the head count {Heads} (rotary embeddings need an even head width)");
        Require(FittedWidths.Distinct().Count() == FittedWidths.Count, "the fitted widths must differ");
        Require(FitSeeds >= 1, $"fit seeds must be at least 1 (got {FitSeeds})");
        Require(HeldOutSeeds >= 1, $"held-out seeds must be at least 1 (got {HeldOutSeeds})");
        Require(Workers >= 1, $"workers must be at least 1 (got {Workers})");
        Require(TargetWidth > FittedWidths.Max(), $"the target width {TargetWidth} must be larger than every fitted width");
        Require(Layers >= 1, $"layers must be positive (got {Layers})");
        Require(TokensPerParameter > 0, $"tokens per parameter must be positive (got {TokensPerParameter})");
        Require(MinComputeRatio >= 1, $"the held-out run's compute ratio must be at least 1 (got {MinComputeRatio})");
        Require(AverageFraction >= 0, $"the weight-average fraction must be 0 (off) or positive (got {AverageFraction})");
        Require(WarmupSteps >= 0, $"warmup steps must be 0 or more (got {WarmupSteps})");
        Require(CurvePoints >= 1 && FrontierPoints >= 3, "a run needs at least 1 curve point and the grid at least 3 compute budgets");
        Require(FrontierSpan > 1, $"the frontier span must exceed 1 (got {FrontierSpan})");
        Require(BudgetSpan > 1, $"the budget span must exceed 1 (got {BudgetSpan})");
        // How far below the fitted compute each budget lies, as a ratio.
        var below = Enumerable.Range(0, FrontierPoints).Select(k => Math.Pow(BudgetSpan, (double)k / (FrontierPoints - 1))).ToList();
        Require(below.Count(r => r <= FrontierSpan * (1 + 1e-9)) >= 3, $"the laws need at least 3 compute budgets within the frontier span; widen --frontier-span (got {FrontierSpan:G3}) or add --budgets (got {FrontierPoints})");
        Require(below.Count(r => r >= ScalingSweep.BacktestFactor * (1 - 1e-9) && r <= ScalingSweep.BacktestFactor * FrontierSpan * (1 + 1e-9)) >= 3,
            $"the backtest needs at least 3 compute budgets between 1/{ScalingSweep.BacktestFactor:G} and 1/{ScalingSweep.BacktestFactor * FrontierSpan:G3} of the fitted compute; widen --budget-span (got {BudgetSpan:G3}) or add --budgets (got {FrontierPoints})");
        Require(LearningRateBaseWidth > 0 && LearningRateWidthExponent >= 0, $"the learning-rate base width must be positive and the width exponent 0 or more (got {LearningRateBaseWidth} and {LearningRateWidthExponent})");
        Require(MinLearningRateRatio is >= 0 and <= 1, $"the final learning-rate ratio must be in [0, 1] (got {MinLearningRateRatio})");
        Require(MinTokensPerParameter > 0 && MaxTokensPerParameter > MinTokensPerParameter, $"the tokens-per-parameter window must be positive and non-empty (got {MinTokensPerParameter} to {MaxTokensPerParameter})");
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

    /// <summary>The peak learning rate of a model of this width.</summary>
    public double LearningRateFor(int width) => LearningRate * Math.Pow((double)LearningRateBaseWidth / width, LearningRateWidthExponent);

    /// <summary>
    /// The shared optimisation recipe for a run of <paramref name="steps"/> steps of a model of
    /// <paramref name="width"/> (the base width when omitted): fixed warmup, then a cosine decay over
    /// the run's own length.
    /// </summary>
    public TrainConfig TrainFor(int steps, int? width = null) => new()
    {
        Steps = steps, BatchSize = BatchSize, SequenceLength = SequenceLength, LearningRate = LearningRateFor(width ?? LearningRateBaseWidth), MinLearningRateRatio = MinLearningRateRatio,
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

/// <summary>
/// One planned run of the sweep. <see cref="Seed"/> seeds its initialisation, data order and sampling;
/// <see cref="Budget"/> is the grid's compute budget the run belongs to (its <see cref="Compute"/> is that
/// budget rounded to whole steps).
/// </summary>
public sealed record SweepRunPlan(string Name, int Width, long Parameters, long Tokens, int Steps, double Compute, bool HeldOut)
{
    public long Seed { get; init; }
    public double Budget { get; init; } = Compute;
}

/// <summary>What one run measured. <see cref="Curve"/> holds the log-spaced measurements along the run; the last one is the final.</summary>
public sealed record SweepPoint(SweepRunPlan Plan, long TokensSeen, double Compute, double FinalLoss, CodeTierScore Code, double TrainSeconds)
{
    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    /// <summary>Mean −log P(reference solution | prompt) in nats at the end of the run.</summary>
    public double FinalCodeNll { get; init; }
    /// <summary>The final validation loss split by the curriculum family of each token's document (empty for runs saved before sweeps measured it).</summary>
    public IReadOnlyList<FamilyLoss> FamilyLosses { get; init; } = [];

    /// <summary>The final validation loss on <paramref name="family"/>'s tokens.</summary>
    public double FamilyLossOf(string family) => FamilyLosses.First(f => f.Family == family).Loss;
}

/// <summary>A loss prediction made before the held-out run trained, and (after it) its error: what every loss predictor shares, so the headline can be any of them.</summary>
public interface ILossPrediction
{
    double Predicted { get; }
    double? RelativeError { get; }
}

/// <summary>A prediction made before the held-out run trained, and (after it) the actual value. <see cref="Frontier"/> holds the points the law was fitted on.</summary>
public sealed record Prediction(string Metric, PowerLawFitResult Fit, double Compute, double Predicted) : ILossPrediction
{
    public double? Actual { get; init; }
    public double? RelativeError => Actual is { } a ? Math.Abs(Predicted - a) / Math.Abs(a) : null;
    public IReadOnlyList<FrontierPoint> Frontier { get; init; } = [];
    /// <summary>Whether the fitted points have the law's shape at all (see <see cref="RegimeCheck"/>).</summary>
    public RegimeCheck Regime => RegimeCheck.Of(Frontier);
}

/// <summary>
/// The loss of the held-out run predicted by the parametric law L(N, D) of <see cref="ParametricLawFit"/>,
/// fitted on every measurement of the fitted runs' (seed-averaged) curves in the frontier's compute window.
/// </summary>
public sealed record ParametricPrediction(string Metric, ParametricFitResult Fit, double Parameters, double Tokens, double Predicted) : ILossPrediction
{
    public double? Actual { get; init; }
    public double? RelativeError => Actual is { } a ? Math.Abs(Predicted - a) / Math.Abs(a) : null;
}

/// <summary>One family's part of <see cref="MixturePrediction"/>: its token share and its own frontier law.</summary>
public sealed record FamilyPrediction(string Family, double Share, Prediction Law)
{
    /// <summary>This family's share of the total's relative error: share × (predicted − actual) / the actual total.</summary>
    public double? ContributionTo(double actualTotal) => Law.Actual is { } a ? Share * (Law.Predicted - a) / actualTotal : null;
}

/// <summary>
/// The mixture predictor: one L_f(C) = a_f·C^(−b_f) + c_f per data family, each fitted on that
/// family's loss at the total loss's IsoFLOP frontier sizes, and the total predicted as the sum of
/// the families' predictions weighted by their shares of the validation tokens.
/// </summary>
public sealed record MixturePrediction(IReadOnlyList<FamilyPrediction> Families, double Compute) : ILossPrediction
{
    public double Predicted => Families.Sum(f => f.Share * f.Law.Predicted);
    /// <summary>The held-out run's total loss (its seed mean with several seeds).</summary>
    public double? Actual { get; init; }
    public double? RelativeError => Actual is { } a ? Math.Abs(Predicted - a) / Math.Abs(a) : null;
    /// <summary>The families whose loss does not flatten across the fit window (steady or steepening): the window cannot tell where they level off, so their parts of the prediction are guesses.</summary>
    public IReadOnlyList<string> FamiliesWithoutVisibleFloor => [.. Families.Where(f => f.Law.Regime.Regime != FitRegime.Flattening).Select(f => f.Family)];
}

/// <summary>
/// The sweep's outcome. <see cref="Code"/> predicts the continuous code metric (reference-solution
/// likelihood); the sampled pass rates are in each point's <see cref="SweepPoint.Code"/>.
/// <see cref="LossBacktest"/> checks the method inside the fitted data alone: a law fitted on the
/// same span of budgets a third lower, predicting the frontier at the fitted compute.
/// </summary>
public sealed record ScalingResult(
    string ComputeDefinition, IReadOnlyList<SweepPoint> Points, Prediction Loss, Prediction Code, double ComputeRatio, string CodeMetricRule, double Seconds)
{
    public Prediction? LossBacktest { get; init; }
    /// <summary>The loss predicted with each of <see cref="ScalingSweep.SensitivitySpans"/> (all made before the held-out run trained).</summary>
    public IReadOnlyList<Prediction> LossBySpan { get; init; } = [];
    /// <summary>The second loss predictor: Chinchilla's L(N, D) at the held-out run's parameters and tokens.</summary>
    public ParametricPrediction? LossParametric { get; init; }
    /// <summary>The parametric predictor's backtest, the same as <see cref="LossBacktest"/>'s (the same span of budgets a third lower, predicting the frontier at the fitted compute).</summary>
    public ParametricPrediction? ParametricBacktest { get; init; }
    /// <summary>The mixture of per-family laws (null when some run was saved without per-family losses), with each family's actual held-out loss.</summary>
    public MixturePrediction? LossMixture { get; init; }
    /// <summary>Which loss predictor is the headline (<see cref="ScalingSweep.MixturePredictor"/>, <see cref="ScalingSweep.FrontierPredictor"/> or <see cref="ScalingSweep.ParametricPredictor"/>), fixed before the held-out run trained.</summary>
    public string HeadlinePredictor { get; init; } = ScalingSweep.FrontierPredictor;
    /// <summary>The headline loss prediction and its error.</summary>
    [JsonIgnore] public ILossPrediction HeadlineLoss => ScalingSweep.Headline(HeadlinePredictor, Loss, LossParametric, LossMixture);
    public double HeadlineLossPredicted => HeadlineLoss.Predicted;
    public double? HeadlineLossError => HeadlineLoss.RelativeError;
    /// <summary>The held-out runs, one per held-out seed; the predictions' actual values are their means.</summary>
    [JsonIgnore] public IReadOnlyList<SweepPoint> HeldOutRuns => [.. Points.Where(p => p.Plan.HeldOut)];
    /// <summary>Sample standard deviation of the held-out runs' final losses (null with one held-out seed).</summary>
    [JsonIgnore] public double? HeldOutLossStandardDeviation => HeldOutRuns is { Count: > 1 } runs
        ? MathNet.Numerics.Statistics.Statistics.StandardDeviation(runs.Select(p => p.FinalLoss)) : null;
}

/// <summary>What <see cref="ScalingSweep.Predict"/> derives from the fitted runs.</summary>
public sealed record SweepPredictions(Prediction Loss, Prediction Code, Prediction Backtest, IReadOnlyList<Prediction> LossBySpan)
{
    /// <summary>Chinchilla's L(N, D) at the held-out run (null when <see cref="ScalingSweep.Predict"/> was not given the held-out plan).</summary>
    public ParametricPrediction? Parametric { get; init; }
    /// <summary>L(N, D) fitted on the backtest's data, predicting the same frontier point as <see cref="Backtest"/>.</summary>
    public ParametricPrediction? ParametricBacktest { get; init; }
    /// <summary>The mixture of per-family frontier laws (null when a fitted run lacks per-family losses).</summary>
    public MixturePrediction? Mixture { get; init; }
    /// <summary>
    /// The mixture predictor (the frontier law without per-family losses or with <see cref="ScalingSettings.FrontierHeadline"/>),
    /// or with <see cref="ScalingSettings.HeadlineByBacktest"/> the frontier law or L(N, D), whichever backtest error is smaller (the frontier law on a tie or without a parametric prediction).
    /// </summary>
    public string Headline { get; init; } = ScalingSweep.FrontierPredictor;
    /// <summary>The headline predictor's loss prediction.</summary>
    public double HeadlinePredicted => ScalingSweep.Headline(Headline, Loss, Parametric, Mixture).Predicted;
}

/// <summary>Callbacks that let a front end show the sweep as it runs.</summary>
public interface ISweepObserver
{
    void Log(string message) { }
    /// <summary>A run is about to train; the returned progress receives its steps.</summary>
    IProgress<TrainProgress>? RunStarting(SweepRunPlan plan) => null;
    void RunFinished(SweepPoint point) { }
    /// <summary>Called with every prediction, the headline named, before the held-out run starts training.</summary>
    void Predicted(SweepPredictions predictions) { }
}

public static class ScalingSweep
{
    public const string ComputeDefinition = "C = training FLOPs per token (6·N + 12·L·T·d, GptConfig.TrainingFlopsPerToken at the training sequence length T) × tokens trained";
    public const string CodeMetricRule = "mean over held-out problems of −log P(reference solution | prompt) in nats (an upper bound on −log pass rate at temperature 1); pass rates of sampled programs are reported beside it";
    public const string LossMetric = "validation loss";
    public const string FrontierPredictor = "frontier L(C)", ParametricPredictor = "parametric L(N, D)", MixturePredictor = "mixture of per-family L_f(C)";

    /// <summary>The prediction named <paramref name="headline"/>, or the frontier law when that predictor made none (a sweep too small for it, or saved before it existed).</summary>
    public static ILossPrediction Headline(string headline, Prediction frontier, ParametricPrediction? parametric, MixturePrediction? mixture) => headline switch
    {
        ParametricPredictor when parametric is not null => parametric,
        MixturePredictor when mixture is not null => mixture,
        _ => frontier,
    };

    /// <summary>
    /// The runs in training order: the IsoFLOP grid (budgets from the smallest up, widths from the
    /// smallest up, each width only where its tokens per parameter fall in the settings' window),
    /// then the held-out run with the settings' compute ratio over the largest fitted run, once per
    /// held-out seed.
    /// </summary>
    public static IReadOnlyList<SweepRunPlan> Plan(ScalingSettings settings, int vocabSize)
    {
        settings.Validate();
        var budgets = Budgets(settings, vocabSize);
        var firstSeed = budgets.SelectMany((budget, k) => settings.FittedWidths.Order()
            .Select(w => PlanOne(settings, w, vocabSize, budget, Math.Round, heldOut: false) with { Name = $"fit-d{w}-b{k + 1}", Budget = budget })
            .Where(p => (double)p.Tokens / p.Parameters is var tpp && tpp >= settings.MinTokensPerParameter && tpp <= settings.MaxTokensPerParameter)).ToList();
        for (int k = 0; k < budgets.Count; k++)
            if (!firstSeed.Any(p => p.Budget == budgets[k]))
                throw new UserError($"No fitted width sees {settings.MinTokensPerParameter:G3} to {settings.MaxTokensPerParameter:G3} tokens per parameter at compute budget {k + 1} ({budgets[k]:G3} FLOPs); add widths or widen --min-tokens-per-param and --max-tokens-per-param.");
        // Extra seeds of every fitted run train after the first seed of all runs, as the same plans with another seed.
        var fitted = firstSeed.Concat(Enumerable.Range(1, settings.FitSeeds - 1)
            .SelectMany(k => firstSeed.Select(p => p with { Name = $"{p.Name}-seed{k + 1}", Seed = settings.Seed + k }))).ToList();
        var target = PlanOne(settings, settings.TargetWidth, vocabSize, settings.MinComputeRatio * fitted.Max(p => p.Compute), Math.Ceiling, heldOut: true);
        var targets = Enumerable.Range(0, settings.HeldOutSeeds).Select(k => k == 0 ? target : target with { Name = $"{target.Name}-seed{k + 1}", Seed = settings.Seed + k });
        var plans = fitted.Concat(targets).ToList();
        if (plans.FirstOrDefault(p => p.Steps <= 2 * settings.WarmupSteps) is { } short_)
            throw new UserError($"Run {short_.Name} would train only {short_.Steps} steps, no more than twice the {settings.WarmupSteps}-step warmup; raise --tokens-per-param or lower --warmup.");
        return plans;
    }

    /// <summary>The grid's compute budgets, smallest first: log-spaced over the frontier span up to what the largest fitted width needs for the settings' tokens per parameter.</summary>
    public static IReadOnlyList<double> Budgets(ScalingSettings settings, int vocabSize)
    {
        var largest = settings.ModelFor(settings.FittedWidths.Max(), vocabSize).Validate();
        double fittedCompute = settings.TokensPerParameter * largest.ParameterCount * largest.TrainingFlopsPerToken(settings.SequenceLength);
        int n = settings.FrontierPoints;
        return [.. Enumerable.Range(0, n).Select(k => fittedCompute / Math.Pow(settings.BudgetSpan, (double)(n - 1 - k) / (n - 1)))];
    }

    static SweepRunPlan PlanOne(ScalingSettings s, int width, int vocabSize, double compute, Func<double, double> round, bool heldOut)
    {
        var model = s.ModelFor(width, vocabSize).Validate();
        double perStep = model.TrainingFlopsPerToken(s.SequenceLength) * s.BatchSize * s.SequenceLength;
        int steps = (int)Math.Max(1, round(compute / perStep));
        long tokens = (long)steps * s.BatchSize * s.SequenceLength;
        return new SweepRunPlan($"{(heldOut ? "target" : "fit")}-d{width}", width, model.ParameterCount, tokens, steps, steps * perStep, heldOut) { Seed = s.Seed };
    }

    /// <summary>
    /// Runs the sweep: the fitted runs (<see cref="ScalingSettings.Workers"/> at a time), then every
    /// prediction, announced before any held-out run trains, then the held-out runs. Each finished run
    /// is saved at once (<see cref="SweepStore"/>), so with <see cref="ScalingSettings.Resume"/> an
    /// interrupted sweep continues and ends with the same results as an uninterrupted one.
    /// </summary>
    public static async Task<ScalingResult> RunAsync(ScalingSettings settings, ISweepObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= new SilentObserver();
        Plan(settings, settings.VocabSize); // fail on bad settings before minutes of data preparation
        TorchRuntime.EnsureLoaded();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var store = SweepStore.Open(settings);
        var (tokenizerDir, dataDir, trainTokens) = PrepareSharedData(settings, store, observer);
        var tokenizer = Tokenizers.Load(tokenizerDir);
        var plans = Plan(settings, tokenizer.VocabSize);
        var evalFamilies = EvalFamilies.ForValidation(dataDir, tokenizer, settings.Corpus(), settings.EvalBatches, settings.BatchSize, settings.SequenceLength);
        // Scaling laws describe single-epoch training; a run that repeats data flattens for another reason.
        if (plans.MaxBy(p => p.Tokens) is { } longest && longest.Tokens > trainTokens)
            throw new UserError($"Run {longest.Name} would train on {longest.Tokens:N0} tokens but the corpus has only {trainTokens:N0}; raise --corpus-docs so that no run repeats data.");
        var problems = CodePassRate.Problems(settings.CodeTier, Math.Max(settings.CodeProblems, settings.ReferenceProblems), settings.Seed);
        var sampled = problems.Take(settings.CodeProblems).ToList();
        var sandbox = new PythonSandbox();
        var budgets = plans.Where(p => !p.HeldOut).Select(p => p.Budget).Distinct().ToList();
        var firstHeldOut = plans.First(p => p.HeldOut);
        double largestFitted = plans.Where(p => !p.HeldOut).Max(p => p.Compute);
        observer.Log($"{plans.Count(p => !p.HeldOut)} fitted runs on {budgets.Count} compute budgets from {budgets.Min():G3} to {budgets.Max():G3} FLOPs, each with a learning rate decaying to {settings.MinLearningRateRatio:G2}x; held-out run {firstHeldOut.Compute:G3} FLOPs ({firstHeldOut.Compute / largestFitted:F1}x the largest fitted){(settings.HeldOutSeeds > 1 ? $" with {settings.HeldOutSeeds} seeds" : "")}; code likelihood on {problems.Count} {settings.CodeTier} problems, pass rate on {sampled.Count} x {settings.SamplesPerProblem} samples ({sandbox.Isolation}).");

        var points = plans.Select(store.Load).ToArray();
        if (points.Count(p => p is not null) is var reused and > 0)
            observer.Log($"Resuming: {reused} of {plans.Count} runs finished earlier; their saved results are reused.");
        void TrainOne(int index)
        {
            // A worker owns its thread, so waiting here for the sandbox holds up only this run.
            var point = TrainAndMeasure(settings, plans[index], dataDir, tokenizer, evalFamilies, problems, sampled, sandbox, observer, cancel).GetAwaiter().GetResult();
            store.Save(point);
            points[index] = point;
            observer.RunFinished(point);
        }
        IReadOnlyList<int> Pending(bool heldOut) => [.. Enumerable.Range(0, plans.Count).Where(i => plans[i].HeldOut == heldOut && points[i] is null)];

        // libtorch's intra-op threads (its default, or OMP_NUM_THREADS) are shared equally among the workers.
        int callerThreads = torch.get_num_threads(), threadsPerWorker = Math.Max(1, callerThreads / settings.Workers);
        try
        {
            await TrainConcurrently(Pending(heldOut: false), settings.Workers, threadsPerWorker, TrainOne, cancel);
            var fitted = plans.Zip(points).Where(x => !x.First.HeldOut).Select(x => x.Second!).ToList();
            var predicted = Predict(settings, fitted, firstHeldOut);
            observer.Log($"Loss predicted with other frontier spans: {string.Join(", ", predicted.LossBySpan.Select(p => $"{p.Metric[(LossMetric.Length + 2)..]} -> {p.Predicted:F4}"))}.");
            observer.Log($"Backtests (the same span of budgets a third lower, predicting the frontier at the fitted compute, {predicted.Backtest.Actual:F4}): {FrontierPredictor} {predicted.Backtest.Predicted:F4} ({predicted.Backtest.RelativeError:P1} error)"
                + (predicted.ParametricBacktest is { } pb ? $", {ParametricPredictor} {pb.Predicted:F4} ({pb.RelativeError:P1})." : $"; too few curve points for {ParametricPredictor}."));
            if (predicted.Parametric is { } pp)
                observer.Log($"{ParametricPredictor}: fit {pp.Fit.Law} on {pp.Fit.Points} curve points (rmse {pp.Fit.RootMeanSquareError:G3}) -> predicted {pp.Predicted:F4} for N = {pp.Parameters:N0}, D = {pp.Tokens:N0}.");
            observer.Log(predicted.Mixture is { } mixture
                ? $"{MixturePredictor} (each family's law on its loss at the frontier sizes, weighted by its token share): {string.Join("; ", mixture.Families.Select(f => $"{f.Family} ({f.Share:P1}) {f.Law.Fit.Law} -> {f.Law.Predicted:F4}"))}; total -> {mixture.Predicted:F4}."
                : $"{MixturePredictor}: not available, some fitted runs were saved before sweeps measured per-family losses.");
            observer.Log($"Headline loss predictor{(settings.HeadlineByBacktest ? " (smaller backtest error)" : "")}: {predicted.Headline} -> {predicted.HeadlinePredicted:F4}.");
            observer.Predicted(predicted);

            await TrainConcurrently(Pending(heldOut: true), settings.Workers, threadsPerWorker, TrainOne, cancel);
            var all = points.Select(p => p!).ToList();
            var heldOut = all.Where(p => p.Plan.HeldOut).ToList();
            // The laws were fitted on seed means, so the held-out configuration's seed mean is what they predict.
            double loss = heldOut.Average(p => p.FinalLoss), codeNll = heldOut.Average(p => p.FinalCodeNll);
            return new ScalingResult(ComputeDefinition, all,
                predicted.Loss with { Actual = loss }, predicted.Code with { Actual = codeNll },
                heldOut[0].Compute / fitted.Max(p => p.Compute), CodeMetricRule, clock.Elapsed.TotalSeconds)
            {
                LossBacktest = predicted.Backtest,
                LossBySpan = [.. predicted.LossBySpan.Select(p => p with { Actual = loss })],
                LossParametric = predicted.Parametric is { } parametric ? parametric with { Actual = loss } : null,
                ParametricBacktest = predicted.ParametricBacktest,
                HeadlinePredictor = predicted.Headline,
                LossMixture = predicted.Mixture is { } m ? WithActuals(m, heldOut, loss) : null,
            };
        }
        finally
        {
            // The workers' setting also became libtorch's process-wide default (new threads start with it): give the caller its own back.
            if (threadsPerWorker != callerThreads) torch.set_num_threads(callerThreads);
        }
    }

    /// <summary>
    /// Trains the plans at <paramref name="pending"/> in their order, at most <paramref name="workers"/>
    /// at once, each worker on a thread of its own (a run holds its thread for minutes). After a
    /// failure the other workers finish (and save) their current run and take no new one; then the
    /// failure is rethrown. Cancellation stops every run after its current step.
    /// </summary>
    static async Task TrainConcurrently(IReadOnlyList<int> pending, int workers, int threadsPerWorker, Action<int> trainOne, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel); // no new runs
        var queue = new ConcurrentQueue<int>(pending);
        Exception? failure = null;
        void Work()
        {
            // libtorch's torch.set_num_threads is process-wide (new threads start with it) but OpenMP and
            // MKL apply it per calling thread, so every worker sets it on its own thread, all to one value.
            torch.set_num_threads(threadsPerWorker);
            while (!stop.IsCancellationRequested && queue.TryDequeue(out int index))
            {
                try { trainOne(index); }
                catch (Exception e)
                {
                    if (e is not OperationCanceledException || !cancel.IsCancellationRequested) Interlocked.CompareExchange(ref failure, e, null);
                    stop.Cancel();
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Math.Min(workers, pending.Count))
            .Select(_ => Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
        cancel.ThrowIfCancellationRequested();
    }

    /// <summary>Frontier spans whose loss predictions are reported beside the chosen one, to show how much the choice matters.</summary>
    public static readonly IReadOnlyList<double> SensitivitySpans = [3, 6, 9, 27];

    /// <summary>The backtest fits the same span of budgets this factor lower and predicts the frontier at the fitted compute.</summary>
    public const double BacktestFactor = 3;

    /// <summary>
    /// Everything predicted from the fitted runs alone, before the held-out run trains: both laws at
    /// the held-out compute, fitted on the IsoFLOP frontier of the budgets within the frontier span;
    /// the same loss method one step down (the same span of budgets a third lower, predicting the
    /// frontier at the fitted compute), checkable without the held-out run; and the loss prediction
    /// for each of <see cref="SensitivitySpans"/> that holds three budgets. Runs of one width and
    /// budget with different seeds count as one run, their mean.
    /// </summary>
    public static SweepPredictions Predict(ScalingSettings settings, IReadOnlyList<SweepPoint> fitted, double compute) =>
        PredictFrom(settings, MeanOverSeeds(fitted), compute);

    /// <summary>
    /// <see cref="Predict(ScalingSettings, IReadOnlyList{SweepPoint}, double)"/> plus the parametric
    /// predictor for <paramref name="heldOut"/> (Chinchilla's L(N, D) fitted on the final values of the
    /// same runs), its backtest on the same data as the frontier law's, the mixture of per-family laws,
    /// and the headline (<see cref="SweepPredictions.Headline"/>). Only fitted runs are read, so this can run before the held-out run.
    /// </summary>
    public static SweepPredictions Predict(ScalingSettings settings, IReadOnlyList<SweepPoint> fitted, SweepRunPlan heldOut)
    {
        var runs = MeanOverSeeds(fitted);
        var mixture = PredictMixture(settings, runs, heldOut.Compute);
        var frontier = PredictFrom(settings, runs, heldOut.Compute) with
        {
            Mixture = mixture,
            Headline = !settings.HeadlineByBacktest && !settings.FrontierHeadline && mixture is not null ? MixturePredictor : FrontierPredictor,
        };
        double top = runs.Max(p => p.Plan.Budget);
        List<LossObservation> Observations(double from, double to) =>
            [.. Within(runs, from, to).Select(p => new LossObservation(p.Plan.Parameters, p.Plan.Tokens, p.FinalLoss))];
        List<LossObservation> observations = Observations(top / settings.FrontierSpan, top), backObservations = Observations(top / BacktestFactor / settings.FrontierSpan, top / BacktestFactor);
        // A sweep with too few sizes or token counts (the tiny test sweeps) keeps the frontier law alone.
        if (!ParametricLawFit.HasEnoughData(observations) || !ParametricLawFit.HasEnoughData(backObservations)) return frontier;
        var fit = ParametricLawFit.Fit(observations);
        var parametric = new ParametricPrediction(LossMetric, fit, heldOut.Parameters, heldOut.Tokens, fit.Law.At(heldOut.Parameters, heldOut.Tokens));
        // The backtest's frontier at the fitted compute is the best run there by the law, at that run's size and tokens.
        var backFit = ParametricLawFit.Fit(backObservations);
        var best = Within(runs, top, top).MinBy(p => backFit.Law.At(p.Plan.Parameters, p.Plan.Tokens))!.Plan;
        var backtest = new ParametricPrediction(LossMetric, backFit, best.Parameters, best.Tokens, backFit.Law.At(best.Parameters, best.Tokens)) { Actual = frontier.Backtest.Actual };
        string headline = !settings.HeadlineByBacktest ? frontier.Headline : backtest.RelativeError < frontier.Backtest.RelativeError ? ParametricPredictor : FrontierPredictor;
        return frontier with { Parametric = parametric, ParametricBacktest = backtest, Headline = headline };
    }

    /// <summary>
    /// The mixture predictor on the same budgets as the frontier law. Each family's frontier is its loss
    /// at the size where the total loss's frontier lies (<see cref="IsoFlopFrontier.BuildAt"/>), not at
    /// the family's own best size: the held-out run is one model, one size for every family, so its
    /// family losses are those of a model placed on the total's frontier, and the weighted sum of these
    /// family frontiers is exactly the total's frontier. Null when a run lacks per-family losses.
    /// </summary>
    static MixturePrediction? PredictMixture(ScalingSettings settings, IReadOnlyList<SweepPoint> runs, double compute)
    {
        if (runs.Any(p => p.FamilyLosses.Count == 0)) return null;
        double top = runs.Max(p => p.Plan.Budget);
        var window = Within(runs, top / settings.FrontierSpan, top).ToList();
        var total = window.Select(p => new IsoFlopRun(p.Plan.Name, p.Plan.Budget, p.Plan.Parameters, p.FinalLoss)).ToList();
        var families = window[0].FamilyLosses.Select(f => new FamilyPrediction(f.Family, f.Share, One(f.Family))).ToList();
        return new MixturePrediction(families, compute);

        Prediction One(string family)
        {
            var frontier = IsoFlopFrontier.BuildAt(total, window.ToDictionary(p => p.Plan.Name, p => p.FamilyLossOf(family)));
            var fit = PowerLawFit.Fit([.. frontier.Select(f => f.Compute)], [.. frontier.Select(f => f.Value)]);
            return new Prediction($"{LossMetric}, {family}", fit, compute, fit.Law.At(compute)) { Frontier = frontier };
        }
    }

    /// <summary>The mixture prediction with the held-out runs' total (<paramref name="actualTotal"/>) and per-family losses (seed means) as actual values.</summary>
    static MixturePrediction WithActuals(MixturePrediction mixture, IReadOnlyList<SweepPoint> heldOut, double actualTotal) => mixture with
    {
        Actual = actualTotal,
        Families = [.. mixture.Families.Select(f => heldOut.All(p => p.FamilyLosses.Count > 0)
            ? f with { Law = f.Law with { Actual = heldOut.Average(p => p.FamilyLossOf(f.Family)) } } : f)],
    };

    /// <summary>The runs whose budget lies in [<paramref name="from"/>, <paramref name="to"/>], up to the budgets' rounding.</summary>
    static IEnumerable<SweepPoint> Within(IReadOnlyList<SweepPoint> runs, double from, double to) =>
        runs.Where(p => p.Plan.Budget >= from * (1 - IsoFlopFrontier.BudgetTolerance) && p.Plan.Budget <= to * (1 + IsoFlopFrontier.BudgetTolerance));

    /// <summary>One point per fitted width and budget: the mean over its seeds of every curve measurement and of the final values.</summary>
    static IReadOnlyList<SweepPoint> MeanOverSeeds(IReadOnlyList<SweepPoint> fitted) =>
        [.. fitted.GroupBy(p => (p.Plan.Width, p.Plan.Steps)).Select(g =>
        {
            var first = g.First();
            if (g.Count() == 1) return first;
            var curve = first.Curve.Select((c, i) => c with { Loss = g.Average(p => p.Curve[i].Loss), CodeNll = g.Average(p => p.Curve[i].CodeNll) }).ToList();
            var families = g.All(p => p.FamilyLosses.Count > 0)
                ? first.FamilyLosses.Select(f => f with { Loss = g.Average(p => p.FamilyLossOf(f.Family)) }).ToList() : [];
            return first with { Curve = curve, FinalLoss = g.Average(p => p.FinalLoss), FinalCodeNll = g.Average(p => p.FinalCodeNll), FamilyLosses = families };
        })];

    static SweepPredictions PredictFrom(ScalingSettings settings, IReadOnlyList<SweepPoint> runs, double compute)
    {
        double top = runs.Max(p => p.Plan.Budget);
        IReadOnlyList<FrontierPoint> Frontier(Func<SweepPoint, double> value, double from, double to) =>
            IsoFlopFrontier.Build([.. Within(runs, from, to).Select(p => new IsoFlopRun(p.Plan.Name, p.Plan.Budget, p.Plan.Parameters, value(p)))]);
        Prediction One(string metric, Func<SweepPoint, double> value, double from, double to, double at)
        {
            var frontier = Frontier(value, from, to);
            var fit = PowerLawFit.Fit(frontier.Select(f => f.Compute).ToList(), frontier.Select(f => f.Value).ToList());
            return new Prediction(metric, fit, at, fit.Law.At(at)) { Frontier = frontier };
        }
        var loss = One(LossMetric, p => p.FinalLoss, top / settings.FrontierSpan, top, compute);
        var code = One($"reference-solution NLL ({settings.CodeTier} code, nats)", p => p.FinalCodeNll, top / settings.FrontierSpan, top, compute);
        var backtest = One(LossMetric, p => p.FinalLoss, top / BacktestFactor / settings.FrontierSpan, top / BacktestFactor, top) with { Actual = Frontier(p => p.FinalLoss, top, top)[^1].Value };
        var bySpan = SensitivitySpans.Where(span => Frontier(p => p.FinalLoss, top / span, top).Count >= 3)
            .Select(span => One($"{LossMetric}, frontier span {span:G3}", p => p.FinalLoss, top / span, top, compute)).ToList();
        return new SweepPredictions(loss, code, backtest, bySpan);
    }

    /// <summary>
    /// One tokenizer and one set of shards for every run, built once in OUT/shared; a resumed sweep
    /// reuses them once the shards' metadata, written last, is there.
    /// </summary>
    static (string TokenizerDir, string DataDir, long TrainTokens) PrepareSharedData(ScalingSettings settings, SweepStore store, ISweepObserver observer)
    {
        var shared = Path.Combine(store.Directory, "shared");
        var tokenizerDir = Path.Combine(shared, ModelBundle.TokenizerDirectory);
        var dataDir = Path.Combine(shared, "data");
        if (File.Exists(Path.Combine(dataDir, TokenShardWriter.MetaFile)))
        {
            using var shards = TokenShards.Open(dataDir);
            shards.CheckTokenizer(Tokenizers.Load(tokenizerDir));
            observer.Log($"Reusing the shared tokenizer and {shards.Train.Count:N0} training tokens in {shared}.");
            return (tokenizerDir, dataDir, shards.Train.Count);
        }
        var corpus = settings.Corpus();
        observer.Log($"Training a {settings.VocabSize}-token BPE on {settings.CorpusDocuments:N0} curriculum documents ({settings.CodeShare:P0} {settings.CodeTier} code)...");
        BpeTrainer.Train(corpus.PretrainDocuments(), settings.VocabSize).Save(tokenizerDir);
        var tokenizer = Tokenizers.Load(tokenizerDir);
        observer.Log("Encoding the corpus into shared token shards...");
        var summary = TokenShardWriter.Prepare(corpus.PretrainDocuments(), tokenizer, dataDir, validationFraction: 0.05, seed: settings.Seed);
        observer.Log($"Shared data: {summary.TrainTokens:N0} training and {summary.ValidationTokens:N0} validation tokens.");
        return (tokenizerDir, dataDir, summary.TrainTokens);
    }

    /// <summary>Trains one run with the shared recipe, measuring validation loss and code likelihood at its curve steps and the final loss per data family, then samples code from the final model.</summary>
    static async Task<SweepPoint> TrainAndMeasure(ScalingSettings settings, SweepRunPlan plan, string dataDir, ITokenizer tokenizer, EvalFamilies evalFamilies,
        IReadOnlyList<CodeProblem> referenceProblems, IReadOnlyList<CodeProblem> sampled, PythonSandbox sandbox, ISweepObserver observer, CancellationToken cancel)
    {
        settings = settings with { Seed = plan.Seed };
        var config = settings.ModelFor(plan.Width, tokenizer.VocabSize).Validate();
        // No global torch.manual_seed: concurrent runs would race for it. Every draw comes from the run's
        // own seed: the model's initialisation generator, the batch sampler's counter hash, and the
        // code sampler's generator.
        using var model = new GptModel(config, settings.Seed);
        model.to(TorchRuntime.ParseDevice(settings.Device));
        using var data = new ShardData(dataDir, tokenizer, settings.Seed);
        var train = settings.TrainFor(plan.Steps, plan.Width);
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
        var families = evalFamilies.Measure(model, data, settings.EvalBatches, settings.BatchSize, settings.SequenceLength);
        observer.Log($"{plan.Name}: sampling {sampled.Count} x {settings.SamplesPerProblem} {settings.CodeTier} code completions and running them in the sandbox...");
        var code = await CodePassRate.MeasureAsync(model, tokenizer, sampled, settings.SamplesPerProblem, settings.Temperature,
            settings.MaxNewTokens, settings.Seed, sandbox, settings.SandboxWorkers, cancel);
        return new SweepPoint(plan, trainer.State.TokensSeen, final.Compute, final.Loss, code, trainer.State.TrainSeconds) { Curve = curve, FinalCodeNll = final.CodeNll, FamilyLosses = families };
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
