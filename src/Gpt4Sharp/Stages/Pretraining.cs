using System.Diagnostics;
using System.Text.Json;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Data;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Stages;

/// <summary>What a pretraining run is asked to do; saved as OUT/settings.json so --resume repeats it exactly.</summary>
public sealed record PretrainSettings : IStageSettings<PretrainSettings>
{
    public string OutDirectory { get; init; } = "runs/pretrain";
    /// <summary>A directory of shards from `data prepare`; null builds them from the built-in curriculum.</summary>
    public string? DataDirectory { get; init; }
    /// <summary>Tokenizer name or directory; null trains a byte-level BPE on the built-in corpus.</summary>
    public string? Tokenizer { get; init; }
    public int TokenizerVocabSize { get; init; } = 2048;
    /// <summary>Documents drawn from the built-in pretraining mixture.</summary>
    public int CorpusDocuments { get; init; } = 60_000;
    /// <summary>
    /// Documents the BPE is trained on, drawn from the same mixture and seed (0: the whole corpus). A longer pretraining
    /// can keep the tokenizer of a shorter one: merges settle on a small sample, and a model compared across corpus
    /// sizes then reads the same tokens.
    /// </summary>
    public int TokenizerDocuments { get; init; }
    /// <summary>
    /// Family weights, difficulty caps and safety reserve of the built-in corpus (a `curriculum mix` mixture file);
    /// null: <see cref="Mixture.DefaultPretrain"/>. Its count and seed are replaced by <see cref="CorpusDocuments"/> and
    /// the training seed, so one mixture file serves any corpus size.
    /// </summary>
    public Mixture? CorpusMixture { get; init; }
    public GptConfig Model { get; init; } = new() { ContextLength = 256, DModel = 192, Layers = 4, Heads = 3, KvHeads = 3 };
    public TrainConfig Train { get; init; } = new() { Steps = 500, BatchSize = 16, SequenceLength = 128, LearningRate = 3e-3, WarmupSteps = 30, EvalEvery = 100, CheckpointEvery = 250 };
    public string Device { get; init; } = "auto";
    /// <summary>Measure the matmul peak first so progress shows MFU (about 2 s).</summary>
    public bool MeasureMfu { get; init; } = true;
    public IReadOnlyList<string> SamplePrompts { get; init; } = ["Question: What is 7 + 5?", "Question:", "The"];
    public int SampleTokens { get; init; } = 60;

    /// <summary>Checks the built-in corpus's document counts (the pipeline calls it before its first step).</summary>
    public void ValidateCorpus()
    {
        if (CorpusDocuments < 1 || TokenizerDocuments < 0)
            throw new UserError($"Pretraining needs at least one corpus document and a tokenizer document count of 0 (the corpus) or more (got {CorpusDocuments} and {TokenizerDocuments}).");
        CorpusMixture?.Validated();
    }

    /// <summary>The built-in corpus's first <paramref name="count"/> documents.</summary>
    public IEnumerable<string> CorpusDocumentsOf(int count) =>
        (CorpusMixture is { } mixture ? mixture with { Seed = Train.Seed, Count = count, Split = Split.Train } : Mixture.DefaultPretrain(Train.Seed, count)).PretrainDocuments();

    long IStageSettings<PretrainSettings>.Seed => Train.Seed;
    PretrainSettings IStageSettings<PretrainSettings>.WithOutDirectory(string outDirectory) => this with { OutDirectory = outDirectory };
}

/// <summary>What a pretraining run measured.</summary>
public sealed record PretrainResult(
    string OutDirectory, string CheckpointDirectory, long Parameters, long Steps, long TokensSeen,
    double? InitialValidationLoss, double? FinalValidationLoss, double TrainSeconds, double TokensPerSecond,
    double? Mfu, double? MatmulPeakGflops, bool Completed, IReadOnlyList<TextSample> Samples);

/// <summary>
/// Stage 1 of the recipe: build or open token shards, train the decoder-only model with
/// checkpoints, and sample from it. A run directory holds settings.json, tokenizer/, data/,
/// checkpoints/ and results.json; rerunning with resume continues from the newest valid
/// checkpoint with the exact batches and optimiser state of an uninterrupted run.
/// </summary>
public static class Pretraining
{
    public static PretrainResult Run(PretrainSettings settings, bool resume, IProgress<TrainProgress>? progress = null,
        Action<string>? log = null, CancellationToken cancel = default)
    {
        log ??= _ => { };
        var start = TrainingRun.Start(settings, resume);
        (settings, var outDir, var device) = start;
        var store = new CheckpointStore(outDir);
        // Checked before the tokenizer and the shards are built, which take minutes: a bad setting should cost seconds.
        settings.Train.Validate(settings.Model.ContextLength);

        var (tokenizer, dataDir) = PrepareData(settings, outDir, log);
        var config = (settings.Model with { VocabSize = tokenizer.VocabSize }).Validate();
        using var data = new ShardData(dataDir, tokenizer, settings.Train.Seed);
        using var model = new GptModel(config, settings.Train.Seed);
        model.to(device);
        double? peak = settings.MeasureMfu ? MatmulPeak.Measure(settings.Train.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32, device: device) : null;
        using var trainer = new Trainer(model, settings.Train, data, peak);

        double? initialLoss = null;
        var loaded = TrainingRun.Restore(store, trainer, resume, log);
        if (loaded is null)
        {
            initialLoss = trainer.ValidationLoss();
            trainer.State.ValLossHistory.Add(new LossPoint(0, initialLoss.Value)); // kept in checkpoints, so a resumed run still knows it
            log($"Model: {model.ParameterCount:N0} parameters; data: {data.TrainTokens:N0} training and {data.ValidationTokens:N0} validation tokens; validation loss before training {initialLoss:F4}.");
        }

        var clock = Stopwatch.StartNew();
        long stepsBefore = trainer.State.Step;
        var (completed, lastCheckpoint) = TrainingRun.Train(trainer, store, ModelBundle.ConfigJson(config, tokenizer),
            start.Describe("pretrain"), loaded?.Directory, progress, cancel);
        double seconds = clock.Elapsed.TotalSeconds;
        double tokensPerSecond = (trainer.State.Step - stepsBefore) * settings.Train.TokensPerStep / Math.Max(seconds, 1e-9);

        var samples = completed ? Sample(model, tokenizer, settings) : [];
        var result = new PretrainResult(outDir, lastCheckpoint, model.ParameterCount, trainer.State.Step, trainer.State.TokensSeen,
            initialLoss ?? InitialLoss(trainer.State), trainer.State.LatestValidationLoss,
            trainer.State.TrainSeconds, tokensPerSecond,
            peak is > 0 ? tokensPerSecond * config.TrainingFlopsPerToken(settings.Train.SequenceLength) / peak : null,
            peak / 1e9, completed, samples);
        TrainingReport.Write(outDir, "Pretraining", result,
        [
            ("parameters", result.Parameters), ("steps", result.Steps), ("tokens seen", result.TokensSeen),
            ("validation loss before", result.InitialValidationLoss), ("validation loss after", result.FinalValidationLoss),
            ("training seconds", result.TrainSeconds), ("tokens/s", result.TokensPerSecond), ("MFU", result.Mfu),
            ("matmul peak (GFLOP/s)", result.MatmulPeakGflops), ("completed", result.Completed),
        ], trainer.State, samples);
        return result;
    }

    /// <summary>Opens the user's shards, or builds tokenizer and shards from the built-in curriculum once (reused on resume).</summary>
    static (ITokenizer Tokenizer, string DataDirectory) PrepareData(PretrainSettings settings, string outDir, Action<string> log)
    {
        var tokenizerDir = Path.Combine(outDir, ModelBundle.TokenizerDirectory);
        if (settings.DataDirectory is { } userData)
        {
            if (settings.CorpusMixture is not null)
                throw new UserError("A corpus mixture builds the built-in corpus, and --data brings its own shards; give one of them.");
            var tokenizer = Tokenizers.Load(settings.Tokenizer ?? throw new UserError("--data needs --tokenizer: the tokenizer its shards were prepared with."));
            ModelBundle.CopyTokenizer(tokenizer, outDir);
            return (tokenizer, userData);
        }

        settings.ValidateCorpus();
        var dataDir = Path.Combine(outDir, "data");
        ITokenizer tok;
        if (settings.Tokenizer is { } name) tok = Tokenizers.Load(name);
        else if (File.Exists(Path.Combine(tokenizerDir, BpeModel.VocabFile))) tok = Tokenizers.Load(tokenizerDir);
        else
        {
            log($"Training a {settings.TokenizerVocabSize}-token byte-level BPE on the built-in curriculum...");
            BpeTrainer.Train(settings.CorpusDocumentsOf(settings.TokenizerDocuments > 0 ? settings.TokenizerDocuments : settings.CorpusDocuments), settings.TokenizerVocabSize).Save(tokenizerDir);
            tok = Tokenizers.Load(tokenizerDir);
        }
        ModelBundle.CopyTokenizer(tok, outDir);
        if (!File.Exists(Path.Combine(dataDir, TokenShardWriter.MetaFile)))
        {
            log($"Encoding {settings.CorpusDocuments:N0} built-in curriculum documents into token shards...");
            TokenShardWriter.Prepare(settings.CorpusDocumentsOf(settings.CorpusDocuments), tok, dataDir, validationFraction: 0.05, seed: settings.Train.Seed);
        }
        return (tok, dataDir);
    }

    /// <summary>The validation loss recorded at step 0, before any training.</summary>
    internal static double? InitialLoss(TrainerState state) => state.ValLossHistory.Count > 0 && state.ValLossHistory[0].Step == 0 ? state.ValLossHistory[0].Loss : null;

    static List<TextSample> Sample(GptModel model, ITokenizer tokenizer, PretrainSettings settings)
    {
        var generator = new TextGenerator(model, tokenizer);
        var stop = tokenizer.SpecialTokenId(SpecialTokens.EndOfText) is { } eot ? new[] { eot } : [];
        return settings.SamplePrompts.Select((prompt, i) =>
        {
            var options = new SamplingOptions { MaxNewTokens = settings.SampleTokens, Temperature = 0.8, TopK = 40, Seed = settings.Train.Seed + i, StopTokens = stop };
            return new TextSample(prompt, generator.GenerateAsync(prompt, options).GetAwaiter().GetResult().Text);
        }).ToList();
    }
}
