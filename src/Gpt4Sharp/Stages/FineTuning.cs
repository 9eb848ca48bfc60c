using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Data;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Stages;

/// <summary>What a supervised fine-tuning run is asked to do; saved as OUT/settings.json.</summary>
public sealed record FineTuneSettings : IStageSettings<FineTuneSettings>
{
    /// <summary>The model to start from: a run directory or checkpoint directory.</summary>
    public string BaseModel { get; init; } = "runs/pretrain";
    public string OutDirectory { get; init; } = "runs/sft";
    /// <summary>Chat JSONL ({"messages": [...]} per line); null draws from the built-in fine-tuning mixture.</summary>
    public string? DataFile { get; init; }
    /// <summary>Conversations drawn from the built-in mixture when <see cref="DataFile"/> is null.</summary>
    public int BuiltInExamples { get; init; } = 20_000;
    /// <summary>
    /// Share of the safety requests the built-in mixture leaves out so that PPO practises on them
    /// (<see cref="Mixture.SafetyPracticeReserve"/>; give PPO the same share). Ignored with <see cref="DataFile"/>.
    /// </summary>
    public double SafetyPracticeReserve { get; init; }
    public TrainConfig Train { get; init; } = new() { Steps = 600, BatchSize = 16, SequenceLength = 256, LearningRate = 1e-3, WarmupSteps = 30, EvalEvery = 100, CheckpointEvery = 300, WeightDecay = 0.0 };
    public string Device { get; init; } = "auto";
    public IReadOnlyList<string> SamplePrompts { get; init; } = ["What is 12 + 30?", "How do I kill a Python process?"];

    long IStageSettings<FineTuneSettings>.Seed => Train.Seed;
    FineTuneSettings IStageSettings<FineTuneSettings>.WithOutDirectory(string outDirectory) => this with { OutDirectory = outDirectory };
}

public sealed record FineTuneResult(
    string OutDirectory, string CheckpointDirectory, long Steps, int TrainExamples,
    double? InitialValidationLoss, double? FinalValidationLoss, double TrainSeconds, bool Completed,
    IReadOnlyList<TextSample> Samples);

/// <summary>
/// Stage 2a of the recipe, supervised fine-tuning: continue training a model on conversations
/// in the shared chat template, with the loss on assistant tokens only. The result is a run
/// directory that `sample`, `chat`, evaluation and later stages load like any other.
/// </summary>
public static class FineTuning
{
    public static FineTuneResult Run(FineTuneSettings settings, bool resume, IProgress<TrainProgress>? progress = null,
        Action<string>? log = null, CancellationToken cancel = default)
    {
        log ??= _ => { };
        if (!resume && settings.DataFile is null) BuiltInMixture(settings).Validated(); // before the run directory is made, so a bad share leaves nothing behind
        var start = TrainingRun.Start(settings, resume);
        (settings, var outDir, var device) = start;
        // Checked before the model loads and the conversations are drawn; the sequence length is cut to the model's context below.
        settings.Train.Validate(int.MaxValue);

        using var bundle = ModelBundle.Load(settings.BaseModel, device, log);
        ModelBundle.CopyTokenizer(bundle.Tokenizer, outDir);
        var conversations = settings.DataFile is { } file ? ChatJsonl.Read(file) : BuiltInMixture(settings).ChatExamples().Select(e => e.Messages);
        var data = new ChatData(conversations, bundle.Tokenizer, settings.Train.Seed);
        var train = settings.Train with { SequenceLength = Math.Min(settings.Train.SequenceLength, bundle.Model.Config.ContextLength) };
        using var trainer = new Trainer(bundle.Model, train, data);
        var store = new CheckpointStore(outDir);
        var loaded = TrainingRun.Restore(store, trainer, resume, log);
        if (loaded is null) trainer.State.ValLossHistory.Add(new LossPoint(0, trainer.ValidationLoss()));
        double? initial = Pretraining.InitialLoss(trainer.State);
        log($"Fine-tuning {bundle.Model.ParameterCount:N0} parameters on {data.TrainExamples:N0} conversations ({data.ValidationExamples:N0} held out); validation loss {initial:F4}.");

        var (completed, checkpoint) = TrainingRun.Train(trainer, store, ModelBundle.ConfigJson(bundle.Model.Config, bundle.Tokenizer),
            start.Describe("sft"), loaded?.Directory, progress, cancel);
        var samples = completed ? Reply(bundle, settings) : [];
        var result = new FineTuneResult(outDir, checkpoint, trainer.State.Step, data.TrainExamples, initial,
            trainer.State.LatestValidationLoss, trainer.State.TrainSeconds, completed, samples);
        TrainingReport.Write(outDir, "Supervised fine-tuning", result,
        [
            ("base model", settings.BaseModel), ("conversations", result.TrainExamples), ("steps", result.Steps),
            ("assistant-token validation loss before", result.InitialValidationLoss), ("after", result.FinalValidationLoss),
            ("training seconds", result.TrainSeconds), ("completed", result.Completed),
        ], trainer.State, samples);
        return result;
    }

    static Mixture BuiltInMixture(FineTuneSettings settings) =>
        Mixture.DefaultFineTune(settings.Train.Seed, settings.BuiltInExamples) with { SafetyPracticeReserve = settings.SafetyPracticeReserve };

    static List<TextSample> Reply(ModelBundle bundle, FineTuneSettings settings)
    {
        var generator = new TextGenerator(bundle.Model, bundle.Tokenizer);
        var end = bundle.Tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value;
        return settings.SamplePrompts.Select(prompt =>
        {
            var ids = ChatTemplate.Encode(bundle.Tokenizer, [new ChatMessage("user", prompt)], addGenerationPrompt: true).Ids;
            var options = SamplingOptions.Greedy(64) with { StopTokens = [end] };
            var reply = string.Concat(generator.StreamAsync(ids, options).ToBlockingEnumerable().Select(t => t.Text));
            return new TextSample(prompt, reply);
        }).ToList();
    }
}
