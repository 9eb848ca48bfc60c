using System.Text.Json;
using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Evaluation.Memory;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Vision;

namespace Gpt4Sharp.Pipeline;

/// <summary>
/// Every setting of a pipeline run, one record per step. The pipeline fills in the directories
/// that connect the steps (each step's output and the models it starts from), so the stage
/// records here hold only what a user would tune. Saved as DIR/pipeline.json; a resumed run
/// reads that file back instead of the preset.
/// </summary>
public sealed record PipelineSettings
{
    public string Preset { get; init; } = "default";
    /// <summary>cpu, cuda, cuda:N or auto, for every step.</summary>
    public string Device { get; init; } = "auto";
    public ScalingSettings Scaling { get; init; } = new();
    public PretrainSettings Pretrain { get; init; } = new();
    public ClipTrainSettings Clip { get; init; } = new();
    public VlmTrainSettings Vlm { get; init; } = new() { ClipDirectory = "" };
    public FineTuneSettings Sft { get; init; } = new();
    public RbrmCheckSettings Rbrm { get; init; } = new();
    public HallucinationStepSettings Hallucination { get; init; } = new();
    public RewardModelSettings RewardModel { get; init; } = new();
    public PpoSettings Ppo { get; init; } = new();
    public SelfImproveSettings SelfImprove { get; init; } = new();
    public MultiTurnMemorySettings Memory { get; init; } = new();
    public EvaluationSettings Evaluation { get; init; } = new();

    /// <summary>Checks every step's settings before the first step runs, so a bad value fails in a second rather than after an hour.</summary>
    public PipelineSettings Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid pipeline setting: {what}."); }
        Scaling.Validate();
        var model = (Pretrain.Model with { VocabSize = Pretrain.TokenizerVocabSize }).Validate();
        Pretrain.Train.Validate(model.ContextLength);
        Pretrain.ValidateCorpus();
        Sft.Train.Validate(int.MaxValue); // SFT cuts its sequence length to the model's context
        Clip.Model.Validate();
        Hallucination.Detector.Validate();
        RewardModel.Validate();
        Ppo.Validate();
        Require(Sft.SafetyPracticeReserve == Ppo.SafetyPracticeReserve,
            $"the fine-tuning and PPO safety practice reserves must be the same share, so PPO practises on exactly the requests fine-tuning left out (got {Sft.SafetyPracticeReserve} and {Ppo.SafetyPracticeReserve})");
        Require(Vlm.Steps >= 1 && Vlm.BatchSize >= 1 && Vlm.TrainImages >= 1, "the vision-language step needs steps, a batch and pictures");
        Require(Rbrm.ExamplesPerClass >= 1, $"rbrm examples per class must be positive (got {Rbrm.ExamplesPerClass})");
        Require(Hallucination.TrainExamples >= 1 && Hallucination.EvalExamples >= 1 && Hallucination.PipelineQuestions >= 1,
            "the hallucination step needs training and evaluation examples and pipeline questions");
        Require(SelfImprove.Rounds >= 1 && SelfImprove.Questions >= 1, "self-improvement needs at least one round and one question");
        Require(Memory.Steps >= 1 && Memory.EvalItems >= 1, "the memory evaluation needs training steps and items");
        Require(Evaluation.CodeTiers.Count > 0 && Evaluation.CodeProblemsPerTier >= 1 && Evaluation.CodeSamples >= 1,
            "the evaluation needs at least one code tier, problem and sample");
        Require(Evaluation.CodeK.Any(k => k >= 1 && k <= Evaluation.CodeSamples), $"at least one pass@k must have 1 <= k <= the {Evaluation.CodeSamples} code samples");
        Require(Evaluation.ReasoningItems >= 1 && Evaluation.ReasoningSamples >= 1, "the evaluation needs reasoning items and samples");
        Require(Evaluation.HallucinationQuestions >= 1 && Evaluation.AnswerableQuestions >= 0,
            $"the evaluation needs unknown-entity questions and a count of answerable questions of 0 or more (got {Evaluation.HallucinationQuestions} and {Evaluation.AnswerableQuestions})");
        return this;
    }

    /// <summary>Reads a settings file (e.g. an edited copy of a run's pipeline.json).</summary>
    public static PipelineSettings Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"The settings file {path} does not exist; write one with `gpt4sharp pipeline --show-settings > FILE`.");
        try { return JsonSerializer.Deserialize<PipelineSettings>(File.ReadAllText(path), RunInfo.Json) ?? throw new JsonException("the file holds null"); }
        catch (JsonException e) { throw new UserError($"{path} is not valid pipeline settings ({e.Message}); start from `gpt4sharp pipeline --show-settings`."); }
    }

    public string ToJson() => JsonSerializer.Serialize(this, RunInfo.Json);
}

/// <summary>The rule-based reward model's check: its confusion matrix on labelled held-out curriculum responses.</summary>
public sealed record RbrmCheckSettings
{
    /// <summary>Rubric JSON (null: the built-in rubric); PPO uses the same one.</summary>
    public string? Rubric { get; init; }
    public int ExamplesPerClass { get; init; } = 50;
    public long Seed { get; init; } = 7;
}

/// <summary>The detector (trained on synthetic hallucinations) and the detect-and-rewrite pipeline run on the SFT model.</summary>
public sealed record HallucinationStepSettings
{
    public DetectorConfig Detector { get; init; } = new();
    public int TrainExamples { get; init; } = 4000;
    public int EvalExamples { get; init; } = 400;
    /// <summary>Passage questions the SFT model answers in the four-step process; its clean rewrites become reward-model pairs.</summary>
    public int PipelineQuestions { get; init; } = 100;
    public int MaxNewTokens { get; init; } = 64;
    public long Seed { get; init; } = 11;
}

/// <summary>How the final evaluation measures each stage's model (all on held-out items).</summary>
public sealed record EvaluationSettings
{
    /// <summary>Code tiers of the curriculum, in HumanEval form, scored by pass@k in the sandbox.</summary>
    public IReadOnlyList<string> CodeTiers { get; init; } = ["easy", "medium"];
    public int CodeProblemsPerTier { get; init; } = 20;
    public int CodeSamples { get; init; } = 10;
    public IReadOnlyList<int> CodeK { get; init; } = [1, 10];
    public double CodeTemperature { get; init; } = 0.4;
    public int CodeMaxNewTokens { get; init; } = 64;
    /// <summary>Reasoning family and held-out items of at least <see cref="ReasoningMinSteps"/> steps.</summary>
    public string ReasoningFamily { get; init; } = "arithmetic";
    public int ReasoningItems { get; init; } = 30;
    public int ReasoningMinSteps { get; init; } = 3;
    /// <summary>Paths per question for the self-consistency vote.</summary>
    public int ReasoningSamples { get; init; } = 8;
    public int ReasoningMaxNewTokens { get; init; } = 120;
    /// <summary>The alignment probe: plain safety prompts, passage questions and red-team requests (each asked four ways).</summary>
    public int SafetyPrompts { get; init; } = 60;
    public int PassagePrompts { get; init; } = 30;
    public int RedTeamRequests { get; init; } = 10;
    /// <summary>Questions about entities the fictional world does not have (answering instead of declining is a hallucination).</summary>
    public int HallucinationQuestions { get; init; } = 30;
    /// <summary>Questions about entities the world has: the share declined shows a hallucination rate bought by declining everything (0: not asked).</summary>
    public int AnswerableQuestions { get; init; } = 30;
    public int ChatMaxNewTokens { get; init; } = 64;
    /// <summary>Text whose tokens per Chinese character are counted (null: the built-in Chinese curriculum text).</summary>
    public string? ChineseText { get; init; }
    public long Seed { get; init; } = 5;
}
