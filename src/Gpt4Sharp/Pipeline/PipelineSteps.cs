using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Alignment.RedTeam;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Evaluation.Memory;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Training;
using Gpt4Sharp.Vision;

namespace Gpt4Sharp.Pipeline;

/// <summary>
/// The steps of the pipeline, in order, grouped into the recipe's four stages (and a fifth,
/// the evaluation). Each step calls the same library entry point as its own CLI verb, with
/// the directories of the steps before it, and returns the metrics the report shows.
/// </summary>
static class PipelineSteps
{
    public static readonly IReadOnlyList<PipelineStep> All =
    [
        new("01-scaling", 1, "Predict the final loss of a larger run from small runs", Scaling),
        new("02-pretrain", 1, "Pretrain the decoder on the built-in curriculum", Pretrain),
        new("03-clip", 1, "Train the CLIP image encoder on pictures and captions", Clip),
        new("04-vlm", 1, "Train a decoder on image tokens interleaved with text", Vlm),
        new("05-sft", 2, "Supervised fine-tuning on chat conversations", Sft),
        new("06-rbrm", 2, "Check the rule-based reward model against labelled responses", Rbrm),
        new("07-hallucination", 2, "Hallucination detector and detect-and-rewrite comparison pairs", Hallucination),
        new("08-reward-model", 2, "Reward model on comparison pairs (curriculum and hallucination)", RewardModel),
        new("09-ppo", 3, "RLHF with PPO against the reward model and the RBRM", Ppo),
        new("10-self-improve", 4, "Self-improvement from voted chains of thought", SelfImprove),
        new("11-memory", 5, "Multi-turn memory: recall across segments", Memory),
        new("12-evaluate", 5, "Evaluate every stage's model on held-out items", Evaluate),
    ];

    /// <summary>Names of the models the evaluation compares, in recipe order, with the step that made each.</summary>
    public static readonly IReadOnlyList<(string Model, string Step)> StageModels =
        [("pretrained", "02-pretrain"), ("SFT", "05-sft"), ("PPO", "09-ppo"), ("self-improved", "10-self-improve")];

    static JsonObject Scaling(StepContext c)
    {
        StartFresh(c);
        var settings = c.Settings.Scaling with { OutDirectory = c.Directory, Device = c.Settings.Device };
        var result = ScalingSweep.RunAsync(settings, new SweepObserver(c.Observer), c.Cancel).GetAwaiter().GetResult();
        ScalingReport.Save(result, c.Directory);
        return new JsonObject
        {
            ["compute_ratio"] = result.ComputeRatio,
            ["loss_relative_error"] = result.Loss.RelativeError,
            ["headline_loss_predictor"] = result.HeadlinePredictor,
            ["headline_loss_relative_error"] = result.HeadlineLossError,
            ["code_relative_error"] = result.Code.RelativeError,
            ["compute_flops"] = result.Points.Sum(p => p.Compute),
            ["result"] = JsonSerializer.SerializeToNode(result, Results.Json),
        };
    }

    static JsonObject Pretrain(StepContext c)
    {
        var settings = c.Settings.Pretrain with { OutDirectory = c.Directory, Device = c.Settings.Device };
        var r = Pretraining.Run(settings, Resumable(c), c.Observer.Training("pretrain", settings.Train.Steps), c.Observer.Log, c.Cancel);
        if (!r.Completed) throw new OperationCanceledException();
        return new JsonObject
        {
            ["parameters"] = r.Parameters, ["steps"] = r.Steps, ["tokens"] = r.TokensSeen,
            ["initial_validation_loss"] = r.InitialValidationLoss, ["final_validation_loss"] = r.FinalValidationLoss,
            ["tokens_per_second"] = r.TokensPerSecond, ["mfu"] = r.Mfu,
            ["compute_flops"] = TrainingCompute(r.CheckpointDirectory, settings.Train.SequenceLength),
            ["loss_curve"] = LossCurve(r.CheckpointDirectory),
            ["samples"] = JsonSerializer.SerializeToNode(r.Samples, Results.Json),
        };
    }

    static JsonObject Clip(StepContext c)
    {
        StartFresh(c);
        var settings = c.Settings.Clip with { OutDirectory = c.Directory, Device = c.Settings.Device };
        var progress = c.Observer.Items("CLIP training steps", settings.Steps);
        var r = ClipTraining.Run(settings, new InlineProgress<ClipProgress>(p => progress.Report((p.Step, p.Steps))), c.Observer.Log, c.Cancel);
        if (!r.Completed) throw new OperationCanceledException();
        return new JsonObject
        {
            ["parameters"] = r.Parameters, ["steps"] = r.Steps, ["first_loss"] = r.FirstLoss, ["final_loss"] = r.FinalLoss,
            ["zero_shot"] = new JsonArray([.. r.ZeroShot.Select(z => (JsonNode)new JsonObject
            {
                ["task"] = z.Name, ["images"] = z.Images, ["classes"] = z.Classes, ["top1"] = z.Top1, ["top5"] = z.Top5,
            })]),
            ["loss_curve"] = LossCurve(r.CheckpointDirectory),
        };
    }

    static JsonObject Vlm(StepContext c)
    {
        StartFresh(c);
        var settings = c.Settings.Vlm with { ClipDirectory = c.StepDirectory("03-clip"), OutDirectory = c.Directory, Device = c.Settings.Device };
        var progress = c.Observer.Items("VLM training steps", settings.Steps);
        var r = VlmTraining.Run(settings, new InlineProgress<(int Step, int Steps, double Loss, double TokensPerSecond)>(p => progress.Report((p.Step, p.Steps))),
            c.Observer.Log, c.Cancel);
        if (!r.Completed) throw new OperationCanceledException();
        return new JsonObject
        {
            ["trainable_parameters"] = r.TrainableParameters, ["steps"] = r.Steps, ["examples"] = r.Examples,
            ["first_loss"] = r.FirstLoss, ["final_loss"] = r.FinalLoss,
            ["tasks"] = new JsonArray([.. (r.Evaluation?.Scores ?? []).Select(s => (JsonNode)new JsonObject
            {
                ["task"] = s.Task, ["items"] = s.Items, ["correct"] = s.Correct, ["exact_match"] = s.Accuracy,
            })]),
            ["loss_curve"] = LossCurve(r.CheckpointDirectory),
        };
    }

    static JsonObject Sft(StepContext c)
    {
        var settings = c.Settings.Sft with { BaseModel = c.StepDirectory("02-pretrain"), OutDirectory = c.Directory, Device = c.Settings.Device };
        var r = FineTuning.Run(settings, Resumable(c), c.Observer.Training("sft", settings.Train.Steps), c.Observer.Log, c.Cancel);
        if (!r.Completed) throw new OperationCanceledException();
        return new JsonObject
        {
            ["steps"] = r.Steps, ["conversations"] = r.TrainExamples,
            ["initial_validation_loss"] = r.InitialValidationLoss, ["final_validation_loss"] = r.FinalValidationLoss,
            ["compute_flops"] = TrainingCompute(r.CheckpointDirectory, settings.Train.SequenceLength),
            ["loss_curve"] = LossCurve(r.CheckpointDirectory),
            ["samples"] = JsonSerializer.SerializeToNode(r.Samples, Results.Json),
        };
    }

    static JsonObject Rbrm(StepContext c)
    {
        StartFresh(c);
        var s = c.Settings.Rbrm;
        var report = RbrmReport.Evaluate(RuleBasedRewardModel.Load(s.Rubric), LabelledResponses.Build(s.Seed, Split.Eval, s.ExamplesPerClass));
        var matrix = new JsonArray();
        for (int i = 0; i < RbrmReport.Classes.Length; i++)
            matrix.Add(new JsonArray([.. Enumerable.Range(0, RbrmReport.Classes.Length).Select(j => (JsonNode)report.Matrix[i, j])]));
        var metrics = new JsonObject
        {
            ["examples"] = report.Total, ["accuracy"] = report.Accuracy, ["prompt_kind_accuracy"] = report.PromptKindAccuracy,
            ["classes"] = new JsonArray([.. RbrmReport.Classes.Select(x => (JsonNode)x.ToString())]),
            ["confusion"] = matrix,
        };
        Results.Write(c.Directory, metrics);
        return metrics;
    }

    static JsonObject Hallucination(StepContext c)
    {
        StartFresh(c);
        var s = c.Settings.Hallucination;
        using var detector = new HallucinationDetector(s.Detector);
        var progress = c.Observer.Items("hallucination detector steps", s.Detector.Steps);
        detector.Train(SyntheticHallucinations.Build(s.Detector.Seed, Split.Train, s.TrainExamples),
            new InlineProgress<DetectorProgress>(p => progress.Report((p.Step, p.Steps))), c.Cancel);
        var scores = detector.Evaluate(SyntheticHallucinations.Build(s.Detector.Seed, Split.Eval, s.EvalExamples));
        detector.Save(Path.Combine(c.Directory, "detector"));
        c.Observer.Log($"Detector token F1 on held-out synthetic hallucinations: {scores.F1:F3}.");

        using var bundle = ModelBundle.Load(c.StepDirectory("05-sft"), TorchRuntime.ParseDevice(c.Settings.Device));
        var questions = c.Observer.Items("detect-and-rewrite questions", s.PipelineQuestions);
        var result = new HallucinationPipeline(detector).Run(ChatResponders.Greedy(bundle, s.MaxNewTokens), s.Seed, s.PipelineQuestions,
            new InlineProgress<int>(done => questions.Report((done, s.PipelineQuestions))), c.Cancel);
        Alignment.Hallucination.ComparisonPair.WriteJsonl(Path.Combine(c.Directory, PairsFile), result.Pairs);
        var metrics = new JsonObject
        {
            ["detector_precision"] = scores.Precision, ["detector_recall"] = scores.Recall, ["detector_f1"] = scores.F1,
            ["questions"] = result.Questions, ["flagged"] = result.Flagged, ["rewritten"] = result.Rewritten,
            ["pairs_emitted"] = result.Emitted, ["r1_correct"] = result.R1Correct,
        };
        Results.Write(c.Directory, metrics);
        return metrics;
    }

    const string PairsFile = "pairs.jsonl";

    static JsonObject RewardModel(StepContext c)
    {
        var pairs = Path.Combine(c.StepDirectory("07-hallucination"), PairsFile);
        bool anyPairs = (int?)c.Metrics("07-hallucination")["pairs_emitted"] > 0;
        var settings = c.Settings.RewardModel with
        {
            BaseModel = c.StepDirectory("05-sft"), OutDirectory = c.Directory, Device = c.Settings.Device,
            DataFiles = anyPairs ? [.. c.Settings.RewardModel.DataFiles, pairs] : c.Settings.RewardModel.DataFiles,
        };
        var progress = c.Observer.Items("reward model steps", settings.Steps);
        var r = RewardModelTraining.Run(settings, Resumable(c), new InlineProgress<RewardModelProgress>(p => progress.Report((p.Step, p.Steps))), c.Observer.Log, c.Cancel);
        if (!r.Completed) throw new OperationCanceledException();
        return new JsonObject
        {
            ["train_pairs"] = r.TrainPairs, ["held_out_pairs"] = r.HeldOutPairs,
            ["initial_accuracy"] = r.InitialHeldOutAccuracy, ["accuracy"] = r.HeldOutAccuracy,
            ["by_source"] = new JsonArray([.. r.BySource.Select(x => (JsonNode)new JsonObject { ["source"] = x.Source, ["pairs"] = x.Pairs, ["accuracy"] = x.Accuracy })]),
            ["final_loss"] = r.FinalLoss, ["reward_mean"] = r.RewardMean, ["reward_std"] = r.RewardStd,
        };
    }

    static JsonObject Ppo(StepContext c)
    {
        bool resume = Resumable(c);
        var settings = resume ? PpoTrainer.SavedSettings(c.Directory) : c.Settings.Ppo with
        {
            PolicyModel = c.StepDirectory("05-sft"), RewardModels = [c.StepDirectory("08-reward-model")],
            RuleBasedReward = true, Rubric = c.Settings.Rbrm.Rubric, OutDirectory = c.Directory, Device = c.Settings.Device,
        };
        using var scorers = PpoRewards.Load(settings, c.Observer.Log);
        var progress = c.Observer.Items("PPO steps", settings.Steps);
        var r = PpoTrainer.Run(settings, scorers, new InlineProgress<PpoStepMetrics>(m => progress.Report((m.Step, m.Steps))), c.Observer.Log, c.Cancel, resume);
        if (!r.Completed) throw new OperationCanceledException();
        return new JsonObject
        {
            ["steps"] = new JsonArray([.. r.Steps.Select(m => (JsonNode)new JsonObject
            {
                ["step"] = m.Step, ["objective/reward"] = m.Reward, ["objective/kl"] = m.Kl, ["policy/clipfrac"] = m.ClipFraction,
                ["policy/entropy"] = m.Entropy, ["loss/value"] = m.ValueLoss, ["kl_coefficient"] = m.KlCoefficient,
            })]),
        };
    }

    static JsonObject SelfImprove(StepContext c)
    {
        StartFresh(c);
        var settings = c.Settings.SelfImprove with { Model = c.StepDirectory("09-ppo"), OutDirectory = c.Directory, Device = c.Settings.Device };
        var r = SelfImprovementLoop.Run(settings, c.Observer, c.Cancel);
        var kept = KeptRound(r.Rounds);
        c.Observer.Log(kept.Round == r.Rounds[^1].Round ? $"The final model is round {kept.Round}'s."
            : $"The final model is round {kept.Round}'s: no later round raised its held-out accuracy ({kept.GreedyAccuracy:P1}).");
        return new JsonObject
        {
            ["final_model"] = Path.GetRelativePath(c.RunDirectory, kept.ModelDirectory),
            ["kept_round"] = kept.Round,
            ["rounds"] = new JsonArray([.. r.Rounds.Select(x => (JsonNode)new JsonObject
            {
                ["round"] = x.Round, ["questions"] = x.Questions, ["confident"] = x.Confident, ["examples"] = x.Examples,
                ["greedy_accuracy"] = x.GreedyAccuracy, ["voted_accuracy"] = x.VotedAccuracy,
            })]),
        };
    }

    /// <summary>
    /// The round whose model the pipeline hands on: a round is kept only if it raises the held-out accuracy of the best round
    /// before it (round 0 is the starting model), as a training run keeps its best checkpoint. Fine-tuned on a few dozen of
    /// its own chains, a small model can lose what PPO taught it without reasoning any better (docs/alignment-rounds.md, round 31).
    /// </summary>
    internal static SelfImproveRound KeptRound(IReadOnlyList<SelfImproveRound> rounds) =>
        rounds.Aggregate((best, next) => next.GreedyAccuracy > best.GreedyAccuracy ? next : best);

    static JsonObject Memory(StepContext c)
    {
        StartFresh(c);
        System.IO.Directory.CreateDirectory(c.Directory);
        var progress = c.Observer.Items("memory model steps", c.Settings.Memory.Steps);
        var r = MultiTurnMemory.Run(c.Settings.Memory, new InlineProgress<(int Step, float Loss)>(p => progress.Report((p.Step, c.Settings.Memory.Steps))), c.Observer.Log, c.Cancel);
        var metrics = (JsonObject)JsonSerializer.SerializeToNode(r, Results.Json)!;
        metrics["with_memory"] = r.WithMemory;
        metrics["without_memory"] = r.WithoutMemory;
        Results.Write(c.Directory, metrics);
        return metrics;
    }

    static JsonObject Evaluate(StepContext c)
    {
        StartFresh(c);
        System.IO.Directory.CreateDirectory(c.Directory);
        var models = new JsonArray();
        foreach (var (name, step) in StageModels)
        {
            var dir = step == "10-self-improve"
                ? Path.Combine(c.RunDirectory, (string)c.Metrics(step)["final_model"]!)
                : c.StepDirectory(step);
            c.Observer.Log($"Evaluating the {name} model ({Path.GetRelativePath(c.RunDirectory, dir)})...");
            models.Add(StageEvaluation.Run(name, dir, c.Settings.Evaluation, c.Settings.Device, c.Observer, c.Cancel));
        }
        var metrics = new JsonObject
        {
            ["models"] = models,
            ["tokens_per_chinese_character"] = StageEvaluation.ChineseTokens(c.StepDirectory("02-pretrain"), c.Settings.Evaluation),
        };
        Results.Write(c.Directory, metrics);
        return metrics;
    }

    /// <summary>Training steps continue an interrupted attempt from its checkpoints when it saved its settings.</summary>
    static bool Resumable(StepContext c) => c.Resuming && File.Exists(Path.Combine(c.Directory, TrainingRun.SettingsFile));

    /// <summary>Steps without checkpoints redo an interrupted attempt from the start; its partial files go first.</summary>
    static void StartFresh(StepContext c)
    {
        if (c.Resuming && System.IO.Directory.Exists(c.Directory)) System.IO.Directory.Delete(c.Directory, recursive: true);
    }

    /// <summary>Training FLOPs of a decoder run: FLOPs per token at its sequence length × the tokens its checkpoint has seen.</summary>
    static double TrainingCompute(string checkpointDirectory, int sequenceLength) =>
        CheckpointStore.ReadConfig<Model.GptConfig>(checkpointDirectory).TrainingFlopsPerToken(sequenceLength)
        * (double)CheckpointStore.ReadTrainerState(checkpointDirectory).TokensSeen;

    /// <summary>Training and validation loss by step from a checkpoint's trainer state.</summary>
    static JsonObject LossCurve(string checkpointDirectory)
    {
        var state = CheckpointStore.ReadTrainerState(checkpointDirectory);
        return new JsonObject
        {
            ["train"] = new JsonArray([.. state.LossHistory.Select(p => (JsonNode)new JsonArray(p.Step, p.Loss))]),
            ["validation"] = new JsonArray([.. state.ValLossHistory.Select(p => (JsonNode)new JsonArray(p.Step, p.Loss))]),
        };
    }

    sealed class SweepObserver(IPipelineObserver observer) : ISweepObserver
    {
        public void Log(string message) => observer.Log(message);
        public IProgress<TrainProgress>? RunStarting(SweepRunPlan plan) => observer.Training($"scaling {plan.Name}", plan.Steps);
        public void Predicted(SweepPredictions predictions) =>
            observer.Log($"Predicted before training the held-out run: validation loss {predictions.HeadlinePredicted:F4} ({predictions.Headline}), {predictions.Code.Metric} {predictions.Code.Predicted:F4}."
                + (predictions.Mixture?.FamiliesWithoutVisibleFloor is { Count: > 0 } open ? $" The loss on {string.Join(" and ", open)} tokens does not flatten across the fit window, so those parts are guesses." : ""));
    }
}
