using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Evaluation.Memory;
using Gpt4Sharp.Model;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Training;
using Gpt4Sharp.Vision;

namespace Gpt4Sharp.Pipeline;

/// <summary>
/// The named pipeline configurations: <c>tiny</c> checks every step end to end in a few minutes
/// (the test suite runs it; its models learn next to nothing), <c>default</c> is the laptop run
/// of about 20 minutes on 2 CPU cores, <c>aligned</c> the default with the longer pretraining and the PPO
/// settings of rounds 29–30 in docs/alignment-rounds.md (about 85 minutes on 2 cores), <c>large</c> the default recipe sized
/// for one GPU.
/// </summary>
public static class PipelinePresets
{
    public static readonly IReadOnlyList<string> Names = ["tiny", "default", "aligned", "large"];

    public static PipelineSettings Get(string name) => name switch
    {
        "tiny" => Tiny(),
        "default" => Default(),
        "aligned" => Aligned(),
        "large" => Large(),
        _ => throw new UserError($"Unknown preset '{name}'; use one of {string.Join(", ", Names)}."),
    };

    public static PipelineSettings Tiny() => new()
    {
        Preset = "tiny",
        Device = "cpu",
        Scaling = ScalingSettings.Tiny("runs/scaling"),
        Pretrain = new PretrainSettings
        {
            TokenizerVocabSize = 512, CorpusDocuments = 400, MeasureMfu = false, SamplePrompts = ["Question:"], SampleTokens = 8,
            Model = new GptConfig { ContextLength = 1024, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2 },
            Train = new TrainConfig { Steps = 20, BatchSize = 2, SequenceLength = 64, LearningRate = 3e-3, WarmupSteps = 2, EvalEvery = 10, EvalBatches = 1, CheckpointEvery = 10 },
        },
        Clip = new ClipTrainSettings
        {
            Model = new ClipConfig
            {
                Vision = new VisionConfig { ImageSize = 32, PatchSize = 8, Width = 32, Layers = 1, Heads = 2 },
                Text = new TextEncoderConfig { Width = 32, Layers = 1, Heads = 2 },
                EmbedDim = 32,
            },
            TrainImages = 64, Steps = 4, BatchSize = 16, WarmupSteps = 1, TokenizerVocab = 300, EvalImages = 12,
        },
        Vlm = new VlmTrainSettings { ClipDirectory = "", TrainImages = 32, Steps = 4, BatchSize = 8, WarmupSteps = 1, DModel = 32, Layers = 1, Heads = 2, ContextLength = 96, EvalItems = 2 },
        Sft = new FineTuneSettings
        {
            BuiltInExamples = 100, SamplePrompts = ["What is 2 + 3?"],
            Train = new TrainConfig { Steps = 6, BatchSize = 2, SequenceLength = 256, LearningRate = 1e-3, WarmupSteps = 1, EvalEvery = 3, EvalBatches = 1, CheckpointEvery = 3, WeightDecay = 0 },
        },
        Rbrm = new RbrmCheckSettings { ExamplesPerClass = 5 },
        Hallucination = new HallucinationStepSettings
        {
            Detector = new DetectorConfig { Dim = 32, Layers = 1, Heads = 2, Steps = 5, BatchSize = 8 },
            TrainExamples = 40, EvalExamples = 20, PipelineQuestions = 3, MaxNewTokens = 16,
        },
        RewardModel = new RewardModelSettings { CurriculumPairs = 40, PolicyPairPrompts = 2, PolicySamples = 2, Steps = 4, BatchSize = 4, WarmupSteps = 1, EvalEvery = 0, CheckpointEvery = 2, ReferenceReplies = 8 },
        Ppo = new PpoSettings
        {
            Steps = 3, PromptsPerStep = 2, SamplesPerPrompt = 2, MaxNewTokens = 8, Epochs = 1, MinibatchSize = 4, PromptsPerFamily = 10,
            ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, CheckpointEvery = 1,
        },
        SelfImprove = new SelfImproveSettings
        {
            Questions = 3, Sampling = new SelfImprovementOptions { Samples = 2 }, EvalItems = 2, MaxNewTokens = 16,
            FineTune = new TrainConfig { Steps = 2, BatchSize = 2, SequenceLength = 512, LearningRate = 3e-4, WarmupSteps = 1, EvalEvery = 0, CheckpointEvery = 0, WeightDecay = 0 },
        },
        Memory = new MultiTurnMemorySettings { Steps = 10, EvalItems = 5, DModel = 32, Layers = 1, Heads = 2, Batch = 4, TrainConversations = 200 },
        Evaluation = new EvaluationSettings
        {
            CodeTiers = ["easy"], CodeProblemsPerTier = 2, CodeSamples = 2, CodeK = [1, 2], CodeMaxNewTokens = 12,
            ReasoningItems = 2, ReasoningSamples = 2, ReasoningMaxNewTokens = 16,
            SafetyPrompts = 4, PassagePrompts = 2, RedTeamRequests = 1, HallucinationQuestions = 2, AnswerableQuestions = 2, ChatMaxNewTokens = 12,
        },
    };

    public static PipelineSettings Default() => new()
    {
        Preset = "default",
        // A tenth of `gpt4sharp scaling`'s defaults in compute: the held-out run has 10x (not 30x) the compute of each fitted run.
        Scaling = new ScalingSettings
        {
            FittedWidths = [8, 12, 16, 20], TargetWidth = 48, TokensPerParameter = 10, MinComputeRatio = 10, CorpusDocuments = 20_000, FitSeeds = 1,
            BudgetSpan = 9, FrontierPoints = 5, FrontierSpan = 9, MinTokensPerParameter = 6, // a 9x IsoFLOP grid whose smallest runs still outlast twice the warmup
            ReferenceProblems = 32, CodeProblems = 8, SamplesPerProblem = 4,
        },
        Pretrain = new PretrainSettings
        {
            CorpusDocuments = 40_000,
            Train = new TrainConfig { Steps = 400, BatchSize = 16, SequenceLength = 128, LearningRate = 3e-3, WarmupSteps = 30, EvalEvery = 100, CheckpointEvery = 100 },
        },
        Clip = new ClipTrainSettings { TrainImages = 3000, Steps = 800, EvalImages = 200 },
        Vlm = new VlmTrainSettings { ClipDirectory = "", TrainImages = 1500, Steps = 400, BatchSize = 24, DModel = 96, Layers = 3, Heads = 4, EvalItems = 30 },
        Sft = new FineTuneSettings
        {
            BuiltInExamples = 10_000,
            Train = new TrainConfig { Steps = 300, BatchSize = 16, SequenceLength = 256, LearningRate = 1e-3, WarmupSteps = 30, EvalEvery = 100, CheckpointEvery = 100, WeightDecay = 0 },
        },
        Hallucination = new HallucinationStepSettings { PipelineQuestions = 60 },
        RewardModel = new RewardModelSettings { CurriculumPairs = 3000, Steps = 200, EvalEvery = 50, CheckpointEvery = 50 },
        Ppo = new PpoSettings { Steps = 30, CheckpointEvery = 10, ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0 },
        SelfImprove = new SelfImproveSettings
        {
            Questions = 60, Sampling = new SelfImprovementOptions { Samples = 8 }, EvalItems = 30, MaxNewTokens = 120,
            FineTune = new SelfImproveSettings().FineTune with { Steps = 60 },
        },
        Memory = new MultiTurnMemorySettings { Steps = 1500, EvalItems = 100 },
        Evaluation = new EvaluationSettings { CodeProblemsPerTier = 10, ReasoningItems = 20 },
    };

    /// <summary>
    /// The default recipe at the research settings of rounds 18–30 (docs/alignment-rounds.md), so that the alignment targets are measured in
    /// the pipeline's own report: the same model pretrained on 16x the tokens (with the default run's tokenizer, trained on
    /// its 40,000 documents), fine-tuned twice as long at the SFT seed those rounds used, and PPO with the intent,
    /// refusal-decision and decline-decision losses on a labelled practice batch, contrastive safety practice, half the
    /// learned reward's weight and the closed-domain reward on the reference passages, over a four times larger practice
    /// pool. The evaluation asks as many held-out questions as those rounds' probes.
    /// </summary>
    public static PipelineSettings Aligned()
    {
        var d = Default();
        return d with
        {
            Preset = "aligned",
            Pretrain = d.Pretrain with
            {
                CorpusDocuments = 320_000, TokenizerDocuments = d.Pretrain.CorpusDocuments,
                Train = d.Pretrain.Train with { Steps = 6400, EvalEvery = 800, CheckpointEvery = 800 },
            },
            Sft = new FineTuneSettings { Train = new FineTuneSettings().Train with { Seed = 2 } },
            RewardModel = new RewardModelSettings(),
            Ppo = new PpoSettings
            {
                Steps = 60, PromptsPerStep = 8, SamplesPerPrompt = 8, MaxNewTokens = 48, LearningRate = 1e-5, RewardModelWeight = 0.5,
                PromptFraming = PromptFraming.Contrastive, PromptsPerFamily = 4000,
                IntentAuxCoefficient = 0.5, IntentAuxBatch = 32, RefusalAuxCoefficient = 0.5, PracticeBatchByGroup = true,
                BenignPracticeBatch = 16, DeclineAuxCoefficient = 0.5,
                ClosedDomainRewardWeight = 1.0, ClosedDomainRewardKinds = ["passage", "passage_unanswerable"],
                ProbeSafetyPrompts = 200, ProbePassagePrompts = 100, ProbeRedTeamRequests = 10, CheckpointEvery = 10,
            },
            Evaluation = d.Evaluation with { SafetyPrompts = 200, PassagePrompts = 100, HallucinationQuestions = 400, AnswerableQuestions = 200 },
        };
    }

    /// <summary>The default recipe scaled up for one CUDA GPU: a 12-layer, 768-wide decoder with bf16 training, and every step longer.</summary>
    public static PipelineSettings Large()
    {
        var d = Default();
        return d with
        {
            Preset = "large",
            Device = "cuda",
            Scaling = d.Scaling with { FittedWidths = [32, 48, 64, 80, 96], TargetWidth = 512, MinComputeRatio = 30, Layers = 4, Heads = 4, CorpusDocuments = 400_000 },
            Pretrain = d.Pretrain with
            {
                TokenizerVocabSize = 8192, CorpusDocuments = 1_000_000,
                Model = new GptConfig { ContextLength = 1024, DModel = 768, Layers = 12, Heads = 12, KvHeads = 4 },
                Train = d.Pretrain.Train with { Steps = 20_000, BatchSize = 32, SequenceLength = 1024, LearningRate = 6e-4, WarmupSteps = 500, EvalEvery = 1000, CheckpointEvery = 1000, Bf16 = true },
            },
            Clip = d.Clip with { TrainImages = 50_000, Steps = 5000, BatchSize = 256, Model = new ClipConfig { Vision = new VisionConfig { ImageSize = 96, PatchSize = 8, Width = 256, Layers = 6, Heads = 8 } } },
            Vlm = d.Vlm with { TrainImages = 20_000, Steps = 5000, DModel = 512, Layers = 8, Heads = 8, ContextLength = 256, Projector = "resampler", ResamplerTokens = 32, EvalItems = 200 },
            Sft = d.Sft with { BuiltInExamples = 200_000, Train = d.Sft.Train with { Steps = 3000, BatchSize = 32, SequenceLength = 1024, Bf16 = true } },
            RewardModel = d.RewardModel with { CurriculumPairs = 40_000, Steps = 2000 },
            Ppo = d.Ppo with { Steps = 300, PromptsPerStep = 32, SamplesPerPrompt = 4, MaxNewTokens = 96 },
            SelfImprove = d.SelfImprove with { Rounds = 3, Questions = 1000, Sampling = new SelfImprovementOptions { Samples = 16 }, EvalItems = 200 },
            Memory = d.Memory with { Steps = 10_000, EvalItems = 500, DModel = 256, Layers = 4 },
            Evaluation = d.Evaluation with { CodeTiers = ["easy", "medium", "hard"], CodeProblemsPerTier = 50, CodeSamples = 20, CodeK = [1, 10], ReasoningItems = 200, ReasoningSamples = 16 },
        };
    }
}
