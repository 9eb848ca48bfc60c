using System.Diagnostics;
using System.Text.Json;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>What a reward-model run is asked to do; saved as OUT/settings.json.</summary>
public sealed record RewardModelSettings : IStageSettings<RewardModelSettings>
{
    /// <summary>The fine-tuned model whose weights start the backbone (run or checkpoint directory).</summary>
    public string BaseModel { get; init; } = "runs/sft";
    public string OutDirectory { get; init; } = "runs/rm";
    /// <summary>Comparison JSONL files ({"prompt","chosen","rejected"} per line) added to the curriculum pairs.</summary>
    public IReadOnlyList<string> DataFiles { get; init; } = [];
    /// <summary>Pairs drawn from the safety and knowledge curriculum (0 for files only).</summary>
    public int CurriculumPairs { get; init; } = 4000;
    /// <summary>
    /// How curriculum fact questions about existing entities are posed: closed book, or after the
    /// entity's reference sheet so the preference is decidable from the pair (see <see cref="FactPairs"/>).
    /// </summary>
    public FactPairs FactPairs { get; init; } = FactPairs.ClosedBook;
    /// <summary>
    /// Training-split safety requests the starting model answers <see cref="PolicySamples"/> times each (as PPO
    /// samples) to make pairs from its own replies, ranked by the rule-based reward model (see
    /// <see cref="PolicyComparisons"/>); 0 for none. They teach the reward model to judge the policy's
    /// wording, not only the curriculum's.
    /// </summary>
    public int PolicyPairPrompts { get; init; } = 400;
    /// <summary>Replies sampled per request for <see cref="PolicyPairPrompts"/>.</summary>
    public int PolicySamples { get; init; } = 4;
    /// <summary>Share of the policy-pair requests that are harmful, the rest benign; null keeps the safety family's own mix.</summary>
    public double? PolicyHarmfulShare { get; init; }
    /// <summary>Share of curriculum pairs whose rejected reply is an off-topic one (a decline of an answerable question, a refusal of a safe one, another question's answer).</summary>
    public double OffTopicShare { get; init; } = 0.25;
    /// <summary>Add the reply's log-likelihood under the backbone to the head's score (see <see cref="RewardLikelihood"/>).</summary>
    public RewardLikelihood Likelihood { get; init; } = RewardLikelihood.GatedReference;
    /// <summary>
    /// Share of the training pairs set aside (by a hash of the prompt, so both replies to a prompt stay
    /// together) as a dev set whose accuracy is reported per source: settings are chosen on it, never
    /// on the held-out pairs. 0 trains on every training pair.
    /// </summary>
    public double DevShare { get; init; }
    public int Steps { get; init; } = 300;
    /// <summary>Pairs per step (each contributes a chosen and a rejected sequence).</summary>
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 3e-4;
    public int WarmupSteps { get; init; } = 20;
    public int EvalEvery { get; init; } = 100;
    /// <summary>Steps between checkpoints (with optimiser state, for --resume); 0 saves only at the end or when stopped.</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Replies whose raw rewards set the normalisation mean and standard deviation.</summary>
    public int ReferenceReplies { get; init; } = 512;
    public long Seed { get; init; } = 1234;
    public string Device { get; init; } = "auto";

    public RewardModelSettings Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid reward-model setting: {what}."); }
        Require(Steps >= 1, $"steps must be positive (got {Steps})");
        Require(BatchSize >= 1, $"batch size must be positive (got {BatchSize})");
        Require(LearningRate > 0, $"learning rate must be positive (got {LearningRate})");
        Require(CurriculumPairs >= 0, $"curriculum pairs must be 0 or more (got {CurriculumPairs})");
        Require(CurriculumPairs > 0 || DataFiles.Count > 0, "there is no data: give --data files or a positive --curriculum-pairs");
        Require(PolicyPairPrompts >= 0, $"policy-pair requests must be 0 or more (got {PolicyPairPrompts})");
        Require(PolicyPairPrompts == 0 || PolicySamples >= 2, $"policy pairs need at least 2 samples per request (got {PolicySamples})");
        Require(DevShare is >= 0 and < 1, $"the dev share must be at least 0 and below 1 (got {DevShare})");
        Require(OffTopicShare is >= 0 and <= 1, $"the off-topic share must be between 0 and 1 (got {OffTopicShare})");
        Require(ReferenceReplies >= 2, $"the normalisation needs at least 2 reference replies (got {ReferenceReplies})");
        Require(EvalEvery >= 0 && CheckpointEvery >= 0, $"eval and checkpoint intervals must be 0 or more (got {EvalEvery} and {CheckpointEvery})");
        return this;
    }

    RewardModelSettings IStageSettings<RewardModelSettings>.WithOutDirectory(string outDirectory) => this with { OutDirectory = outDirectory };
}

/// <summary>A step of reward-model training, for a progress display.</summary>
public sealed record RewardModelProgress(int Step, int Steps, double Loss, double BatchAccuracy, double? HeldOutAccuracy);

/// <summary>
/// Held-out accuracy (chosen scored above rejected) of one source of pairs, next to the accuracy
/// of ranking by the backbone language model's own likelihood of each reply before training
/// (what the backbone already knows; a source near 50% there asks for knowledge it lacks).
/// </summary>
public sealed record SourceAccuracy(string Source, int Pairs, double Accuracy, double LikelihoodAccuracy);

public sealed record RewardModelResult(
    string OutDirectory, string CheckpointDirectory, int TrainPairs, int HeldOutPairs,
    double InitialHeldOutAccuracy, double HeldOutAccuracy, IReadOnlyList<SourceAccuracy> BySource,
    double FinalLoss, double RewardMean, double RewardStd, double TrainSeconds, bool Completed)
{
    /// <summary>Pairs carved from the training pairs by <see cref="RewardModelSettings.DevShare"/> (0 when none).</summary>
    public int DevPairs { get; init; }
    /// <summary>Accuracy on the dev pairs after training (NaN when there are none).</summary>
    public double DevAccuracy { get; init; } = double.NaN;
    /// <summary>Training pairs made from the starting model's own sampled replies (<see cref="RewardModelSettings.PolicyPairPrompts"/>).</summary>
    public int PolicyPairs { get; init; }
    /// <summary>Dev accuracy per source, with the backbone-likelihood baseline as in <see cref="BySource"/>.</summary>
    public IReadOnlyList<SourceAccuracy> DevBySource { get; init; } = [];
}

/// <summary>
/// Trains a <see cref="LearnedRewardModel"/> on comparison pairs with the pairwise Bradley–Terry loss
/// −log σ(r(chosen) − r(rejected)) (Ouyang et al. 2022), reports accuracy on held-out pairs,
/// then measures the reward mean and spread over reference replies so scores come out
/// normalised, and saves a run directory that <see cref="LearnedRewardModel.Load"/> reads.
/// </summary>
public static class RewardModelTraining
{
    const string LikelihoodKey = "held_out_likelihood_correct";

    /// <summary>
    /// Trains (or, with <paramref name="resume"/>, continues the run in the settings' output
    /// directory from its newest checkpoint, with the settings saved there). Stopping through
    /// <paramref name="cancel"/> saves a checkpoint that a resumed run continues exactly.
    /// </summary>
    public static RewardModelResult Run(RewardModelSettings settings, bool resume = false, IProgress<RewardModelProgress>? progress = null,
        Action<string>? log = null, CancellationToken cancel = default)
    {
        log ??= _ => { };
        settings.Validate();
        var start = TrainingRun.Start(settings, resume);
        (settings, var outDir, var device) = start;

        var pairs = new List<ComparisonPair>();
        if (settings.CurriculumPairs > 0) pairs.AddRange(CurriculumComparisons.Build(settings.Seed, settings.CurriculumPairs, facts: settings.FactPairs, offTopicShare: settings.OffTopicShare));
        foreach (var file in settings.DataFiles) pairs.AddRange(ComparisonJsonl.Read(file));
        int policyPairs = 0;
        if (settings.PolicyPairPrompts > 0)
        {
            var clock0 = Stopwatch.StartNew();
            using var policy = ModelBundle.Load(settings.BaseModel, device, log);
            var own = PolicyComparisons.Build(policy.Model, policy.Tokenizer, Rbrm.RuleBasedRewardModel.Load(), settings.Seed, settings.PolicyPairPrompts, settings.PolicySamples, harmfulShare: settings.PolicyHarmfulShare);
            policyPairs = own.Count;
            pairs.AddRange(own);
            log($"{own.Count:N0} pairs from the starting model's own replies to {settings.PolicyPairPrompts:N0} training-split safety requests ({clock0.Elapsed.TotalSeconds:F0} s).");
        }
        var train = pairs.Where(p => p.Split == Split.Train && !IsDev(p, settings.DevShare)).ToList();
        var dev = pairs.Where(p => p.Split == Split.Train && IsDev(p, settings.DevShare)).ToList();
        var heldOut = pairs.Where(p => p.Split == Split.Eval).ToList();
        if (train.Count == 0 || heldOut.Count == 0)
            throw new UserError($"The comparisons give {train.Count} training and {heldOut.Count} held-out pairs; both need at least one, so add more pairs.");

        using var rm = LearnedRewardModel.FromLanguageModel(settings.BaseModel, device, settings.Seed, log, settings.Likelihood);
        ModelBundle.CopyTokenizer(rm.Tokenizer, outDir);
        var encodedTrain = train.Select(p => (rm.Encode(p.Prompt, p.Chosen), rm.Encode(p.Prompt, p.Rejected))).ToList();
        var encodedHeldOut = heldOut.Select(p => (rm.Encode(p.Prompt, p.Chosen), rm.Encode(p.Prompt, p.Rejected))).ToList();
        var encodedDev = dev.Select(p => (rm.Encode(p.Prompt, p.Chosen), rm.Encode(p.Prompt, p.Rejected))).ToList();
        log($"Reward model on {rm.Config.ParameterCount:N0} parameters: {train.Count:N0} training pairs, {dev.Count:N0} dev, {heldOut.Count:N0} held out.");
        // The dev baseline is measured before training; a resumed run measures it on the resumed model, so it is only a guide there.
        var devLikelihoodCorrect = LikelihoodCorrect(rm, encodedDev);

        var parameters = rm.TrainableParameters().ToArray();
        using var optimizer = torch.optim.AdamW(parameters, settings.LearningRate, weight_decay: 0.0);
        var store = new CheckpointStore(outDir);
        var state = new TrainerState { Seed = settings.Seed, Extra = [] };
        List<bool> likelihoodCorrect;
        if (resume && store.LoadLatest(rm, optimizer, log) is { } loaded)
        {
            state.Step = loaded.State.Step;
            state.TrainSeconds = loaded.State.TrainSeconds;
            state.LossHistory.AddRange(loaded.State.LossHistory);
            state.ValLossHistory.AddRange(loaded.State.ValLossHistory);
            // Measured before the first step; the backbone has changed since, so it is read back rather than measured again.
            likelihoodCorrect = loaded.State.Extra?[LikelihoodKey]?.Deserialize<List<bool>>() ?? [];
            log($"Resuming from {Path.GetFileName(loaded.Directory)} (step {loaded.Step}).");
        }
        // The checkpoint's validation slot holds the held-out error rate (1 − accuracy); step 0 is the untrained head.
        else
        {
            state.ValLossHistory.Add(new LossPoint(0, 1 - Accuracy(rm, encodedHeldOut)));
            likelihoodCorrect = LikelihoodCorrect(rm, encodedHeldOut);
        }
        state.Extra![LikelihoodKey] = JsonSerializer.SerializeToNode(likelihoodCorrect);
        double initial = 1 - state.ValLossHistory[0].Loss;

        var order = new PairOrder(train.Count, settings.Seed);
        order.Skip(state.Step * settings.BatchSize); // the order is a pure function of the seed, so a resumed run replays it to where it stopped
        var run = start.Describe("rm train");
        run.Write(outDir);
        string checkpoint = "";
        string Save()
        {
            Normalise(rm, train, settings);
            return checkpoint = store.Save(rm, rm.ConfigJson(), optimizer, state, run);
        }
        var clock = Stopwatch.StartNew();
        double startSeconds = state.TrainSeconds;
        double loss = state.LossHistory.Count > 0 ? state.LossHistory[^1].Loss : double.NaN;
        double heldOutAccuracy = 1 - state.ValLossHistory[^1].Loss;
        bool completed = true;
        while (state.Step < settings.Steps)
        {
            if (cancel.IsCancellationRequested) { completed = false; break; }
            int step = (int)state.Step;
            using var scope = torch.NewDisposeScope();
            rm.train();
            var batch = Enumerable.Range(0, settings.BatchSize).Select(_ => encodedTrain[order.Next()]).ToList();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRate(settings, step);
            optimizer.zero_grad();
            var (chosen, rejected) = Scores(rm, batch);
            var margin = chosen - rejected;
            var lossTensor = -F.logsigmoid(margin).mean();
            lossTensor.backward();
            torch.nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            loss = lossTensor.item<float>();
            double batchAccuracy = (margin > 0).to(ScalarType.Float32).mean().item<float>();
            state.Step = step + 1;
            state.TrainSeconds = startSeconds + clock.Elapsed.TotalSeconds;
            state.LossHistory.Add(new LossPoint(step + 1, loss));
            double? evaluated = null;
            if ((settings.EvalEvery > 0 && (step + 1) % settings.EvalEvery == 0) || step + 1 == settings.Steps)
            {
                evaluated = heldOutAccuracy = Accuracy(rm, encodedHeldOut);
                state.ValLossHistory.Add(new LossPoint(step + 1, 1 - heldOutAccuracy));
            }
            if (settings.CheckpointEvery > 0 && (step + 1) % settings.CheckpointEvery == 0 && step + 1 < settings.Steps) Save();
            progress?.Report(new RewardModelProgress(step + 1, settings.Steps, loss, batchAccuracy, evaluated));
        }
        if (!completed) heldOutAccuracy = Accuracy(rm, encodedHeldOut);

        var bySource = BySource(heldOut, Correct(rm, encodedHeldOut), likelihoodCorrect);
        var devCorrect = Correct(rm, encodedDev);
        var devBySource = BySource(dev, devCorrect, devLikelihoodCorrect);
        Save();
        log($"Reward normalisation over {Math.Min(settings.ReferenceReplies, 2 * train.Count)} training replies: mean {rm.Mean:F4}, std {rm.Std:F4}.");
        var result = new RewardModelResult(outDir, checkpoint, train.Count, heldOut.Count, initial, heldOutAccuracy, bySource,
            loss, rm.Mean, rm.Std, state.TrainSeconds, completed)
        {
            PolicyPairs = policyPairs, DevPairs = dev.Count, DevAccuracy = dev.Count == 0 ? double.NaN : devCorrect.Average(c => c ? 1.0 : 0.0), DevBySource = devBySource,
        };
        WriteReport(outDir, settings, result, state);
        return result;
    }

    static bool IsDev(ComparisonPair pair, double devShare) =>
        devShare > 0 && SplitRule.Bucket("rm-dev", pair.Prompt) < devShare * SplitRule.Buckets;

    static List<SourceAccuracy> BySource(IReadOnlyList<ComparisonPair> pairs, IReadOnlyList<bool> correct, IReadOnlyList<bool> likelihoodCorrect) =>
        Enumerable.Range(0, pairs.Count).GroupBy(i => pairs[i].Source)
            .Select(g => new SourceAccuracy(g.Key, g.Count(), g.Average(i => correct[i] ? 1.0 : 0.0),
                likelihoodCorrect.Count == pairs.Count ? g.Average(i => likelihoodCorrect[i] ? 1.0 : 0.0) : double.NaN))
            .OrderBy(s => s.Source, StringComparer.Ordinal).ToList();

    /// <summary>Training pairs in a fresh seeded shuffle each pass; System.Random is fine here, the order only needs to be seeded, not portable.</summary>
    sealed class PairOrder(int count, long seed)
    {
        readonly Random random = new((int)seed);
        readonly int[] indices = Enumerable.Range(0, count).ToArray();
        int cursor = count;

        public int Next()
        {
            if (cursor == indices.Length) { random.Shuffle(indices); cursor = 0; }
            return indices[cursor++];
        }

        public void Skip(long n)
        {
            for (long i = 0; i < n; i++) Next();
        }
    }

    /// <summary>results.json and report.html: the summary, the per-source held-out accuracy, and the loss and accuracy curves.</summary>
    static void WriteReport(string outDir, RewardModelSettings settings, RewardModelResult result, TrainerState state)
    {
        Results.Write(outDir, new { stage = "rm", settings, result });
        var report = new Report("Reward model").Section("Summary").KeyValues(
            ("base model", settings.BaseModel), ("pairs (train / held out)", $"{result.TrainPairs} / {result.HeldOutPairs}"),
            ("held-out accuracy", $"{result.InitialHeldOutAccuracy:P1} -> {result.HeldOutAccuracy:P1}"),
            ("reward mean / std (raw)", $"{result.RewardMean:F4} / {result.RewardStd:F4}"), ("training seconds", result.TrainSeconds));
        report.Section("Held-out accuracy by source", "Likelihood baseline: ranking by the backbone language model's likelihood of each reply, before reward training.")
            .Table(["source", "pairs", "accuracy", "likelihood baseline"],
            result.BySource.Select(s => (IReadOnlyList<object?>)[s.Source, s.Pairs, s.Accuracy.ToString("P1", System.Globalization.CultureInfo.InvariantCulture),
                double.IsNaN(s.LikelihoodAccuracy) ? "-" : s.LikelihoodAccuracy.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)]));
        if (result.DevPairs > 0)
            report.Section("Dev accuracy by source", $"{result.DevPairs} pairs set aside from the training pairs (dev share {settings.DevShare}); settings are chosen on these.")
                .Table(["source", "pairs", "accuracy", "likelihood baseline"],
                result.DevBySource.Select(s => (IReadOnlyList<object?>)[s.Source, s.Pairs, s.Accuracy.ToString("P1", System.Globalization.CultureInfo.InvariantCulture),
                    double.IsNaN(s.LikelihoodAccuracy) ? "-" : s.LikelihoodAccuracy.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)]));
        if (state.LossHistory.Count > 0)
            report.Section("Training").Chart(new Chart("Bradley-Terry loss", ChartKind.Line, "step", "−log σ(r_chosen − r_rejected)",
                [new ChartSeries("train", [.. state.LossHistory.Select(p => (double)p.Step)], [.. state.LossHistory.Select(p => p.Loss)])]));
        if (state.ValLossHistory.Count > 0)
            report.Chart(new Chart("Held-out pair accuracy", ChartKind.Line, "step", "accuracy",
                [new ChartSeries("held out", [.. state.ValLossHistory.Select(p => (double)p.Step)], [.. state.ValLossHistory.Select(p => 1 - p.Loss)])]));
        report.Save(outDir);
    }

    /// <summary>Linear warmup then cosine decay to a tenth of the peak.</summary>
    static double LearningRate(RewardModelSettings s, int step)
    {
        if (step < s.WarmupSteps) return s.LearningRate * (step + 1) / s.WarmupSteps;
        double progress = (double)(step - s.WarmupSteps) / Math.Max(1, s.Steps - s.WarmupSteps);
        return s.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Raw rewards of the chosen and rejected sides of a batch, in one forward pass.</summary>
    static (Tensor Chosen, Tensor Rejected) Scores(LearnedRewardModel rm, IReadOnlyList<(int[] Chosen, int[] Rejected)> batch)
    {
        var (tokens, lengths) = rm.Batch([.. batch.Select(b => b.Chosen), .. batch.Select(b => b.Rejected)]);
        var scores = rm.RawScores(tokens, lengths);
        return (scores[..batch.Count], scores[batch.Count..]);
    }

    static List<bool> Correct(LearnedRewardModel rm, IReadOnlyList<(int[], int[])> pairs, int batchSize = 32)
    {
        rm.eval();
        using var noGrad = torch.no_grad();
        var correct = new List<bool>(pairs.Count);
        for (int start = 0; start < pairs.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var (chosen, rejected) = Scores(rm, pairs.Skip(start).Take(batchSize).ToList());
            correct.AddRange((chosen > rejected).cpu().data<bool>().ToArray());
        }
        return correct;
    }

    /// <summary>Whether the backbone language model finds each pair's chosen reply more likely than the rejected one.</summary>
    static List<bool> LikelihoodCorrect(LearnedRewardModel rm, IReadOnlyList<(int[] Chosen, int[] Rejected)> pairs, int batchSize = 32)
    {
        rm.eval();
        using var noGrad = torch.no_grad();
        var correct = new List<bool>(pairs.Count);
        for (int start = 0; start < pairs.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var chunk = pairs.Skip(start).Take(batchSize).ToList();
            var (tokens, lengths) = rm.Batch([.. chunk.Select(b => b.Chosen), .. chunk.Select(b => b.Rejected)]);
            var likelihood = rm.BackboneLogLikelihood(tokens, lengths);
            correct.AddRange((likelihood[..chunk.Count] > likelihood[chunk.Count..]).cpu().data<bool>().ToArray());
        }
        return correct;
    }

    /// <summary>Share of pairs whose chosen reply scores strictly above the rejected one.</summary>
    public static double Accuracy(LearnedRewardModel rm, IReadOnlyList<(int[] Chosen, int[] Rejected)> pairs) =>
        pairs.Count == 0 ? double.NaN : Correct(rm, pairs).Average(c => c ? 1.0 : 0.0);

    static void Normalise(LearnedRewardModel rm, IReadOnlyList<ComparisonPair> train, RewardModelSettings settings)
    {
        var replies = train.SelectMany(p => new[] { (p.Prompt, p.Chosen), (p.Prompt, p.Rejected) }).Take(settings.ReferenceReplies).ToList();
        (rm.Mean, rm.Std) = (0, 1);
        var raw = rm.Score(replies);
        double mean = raw.Average();
        double std = Math.Sqrt(raw.Sum(r => (r - mean) * (r - mean)) / (raw.Length - 1));
        (rm.Mean, rm.Std) = (mean, Math.Max(std, 1e-6));
    }
}
