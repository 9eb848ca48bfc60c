using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Model;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Tests.Stages;

public class PretrainingTests
{
    static PretrainSettings Tiny(string outDir) => new()
    {
        OutDirectory = outDir,
        TokenizerVocabSize = 320,
        CorpusDocuments = 400,
        Model = new GptConfig { ContextLength = 64, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 },
        Train = new TrainConfig { Steps = 12, BatchSize = 4, SequenceLength = 32, LearningRate = 5e-3, WarmupSteps = 2, EvalEvery = 6, EvalBatches = 2, CheckpointEvery = 0 },
        Device = "cpu",
        MeasureMfu = false,
        SamplePrompts = ["Question:"],
        SampleTokens = 8,
    };

    [Fact]
    public void Built_in_run_trains_checkpoints_and_loads_back_for_sampling()
    {
        var dir = RepoPaths.NewTempDir();
        var result = Pretraining.Run(Tiny(dir), resume: false);
        Assert.True(result.Completed);
        Assert.True(result.FinalValidationLoss < result.InitialValidationLoss);
        Assert.Single(result.Samples);
        Assert.True(File.Exists(Path.Combine(dir, "run.json")));
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer", "vocab.json")));
        Assert.Equal(12, (int)Gpt4Sharp.Reporting.Results.Read(dir)["steps"]!);
        Assert.Contains("<img", File.ReadAllText(Path.Combine(dir, "report.html")));

        using var bundle = ModelBundle.Load(dir);
        Assert.Equal(12, CheckpointStore.Inspect(dir).Step);
        Assert.Equal(bundle.Tokenizer.VocabSize, bundle.Model.Config.VocabSize);
    }

    [Fact]
    public void The_same_settings_on_the_same_machine_train_byte_identical_weights()
    {
        // What a seed promises on one machine; across machines the CPU's vector extensions (recorded in run.json) also decide.
        string Weights(string dir) => Convert.ToHexString(File.ReadAllBytes(Path.Combine(CheckpointStore.Inspect(dir).Directory, CheckpointStore.ModelFile)));
        string first = RepoPaths.NewTempDir(), second = RepoPaths.NewTempDir();
        Pretraining.Run(Tiny(first), resume: false);
        Pretraining.Run(Tiny(second), resume: false);
        Assert.Equal(Weights(first), Weights(second));

        var other = RepoPaths.NewTempDir();
        Pretraining.Run(Tiny(other) with { Train = Tiny(other).Train with { Seed = 1338 } }, resume: false);
        Assert.NotEqual(Weights(first), Weights(other));
    }

    [Fact]
    public void A_bad_training_setting_is_refused_before_the_tokenizer_and_shards_are_built()
    {
        var dir = RepoPaths.NewTempDir();
        var error = Assert.Throws<UserError>(() => Pretraining.Run(Tiny(dir) with { Train = Tiny(dir).Train with { Steps = -5 } }, resume: false));
        Assert.Contains("steps must be positive", error.Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "tokenizer")));
        Assert.False(Directory.Exists(Path.Combine(dir, "data")));
    }

    [Fact]
    public void The_tokenizer_can_be_trained_on_fewer_documents_than_the_model()
    {
        var dir = RepoPaths.NewTempDir();
        var settings = Tiny(dir) with { TokenizerDocuments = 100, Train = Tiny(dir).Train with { Steps = 2, EvalEvery = 0 } };
        Pretraining.Run(settings, resume: false);

        var fromHundred = Path.Combine(RepoPaths.NewTempDir(), "bpe");
        var fromCorpus = Path.Combine(RepoPaths.NewTempDir(), "bpe");
        BpeTrainer.Train(Mixture.DefaultPretrain(settings.Train.Seed, 100).PretrainDocuments(), settings.TokenizerVocabSize).Save(fromHundred);
        BpeTrainer.Train(Mixture.DefaultPretrain(settings.Train.Seed, 400).PretrainDocuments(), settings.TokenizerVocabSize).Save(fromCorpus);
        string Merges(string tokenizerDir) => File.ReadAllText(Path.Combine(tokenizerDir, BpeModel.MergesFile));
        Assert.Equal(Merges(fromHundred), Merges(Path.Combine(dir, "tokenizer")));
        Assert.NotEqual(Merges(fromCorpus), Merges(Path.Combine(dir, "tokenizer")));

        var e = Assert.Throws<UserError>(() => Pretraining.Run(Tiny(RepoPaths.NewTempDir()) with { TokenizerDocuments = -1 }, resume: false));
        Assert.Contains("tokenizer document count", e.Message);
    }

    [Fact]
    public void A_corpus_mixture_makes_the_built_in_corpus_and_is_kept_for_resume()
    {
        var dir = RepoPaths.NewTempDir();
        var mixture = new Mixture { Weights = new() { ["hazards"] = 1 }, Seed = 99, Count = 5 };
        var settings = Tiny(dir) with { CorpusMixture = mixture, Train = Tiny(dir).Train with { Steps = 2, EvalEvery = 0 } };

        // The run's seed and corpus size replace the file's, and the documents are that mixture's.
        var expected = (mixture with { Seed = settings.Train.Seed, Count = 50 }).PretrainDocuments().ToList();
        Assert.Equal(expected, settings.CorpusDocumentsOf(50));
        Assert.All(expected, d => Assert.Matches(@"^Q: (What|Is|Are) ", d));
        Assert.NotEqual(expected, Mixture.DefaultPretrain(settings.Train.Seed, 50).PretrainDocuments());

        Pretraining.Run(settings, resume: false);
        var saved = System.Text.Json.JsonSerializer.Deserialize<PretrainSettings>(File.ReadAllText(Path.Combine(dir, "settings.json")), Gpt4Sharp.Runs.RunInfo.Json)!;
        Assert.Equal(1, saved.CorpusMixture!.Weights["hazards"]);

        var bad = Assert.Throws<UserError>(() => Pretraining.Run(Tiny(RepoPaths.NewTempDir()) with { CorpusMixture = new Mixture { Weights = new() { ["hazards"] = -1 } } }, resume: false));
        Assert.Contains("weights", bad.Message);
        var both = Assert.Throws<UserError>(() => Pretraining.Run(Tiny(RepoPaths.NewTempDir()) with { CorpusMixture = mixture, DataDirectory = dir, Tokenizer = dir }, resume: false));
        Assert.Contains("give one of them", both.Message);
    }

    [Fact]
    public void Resumed_run_repeats_the_loss_sequence_of_an_uninterrupted_one()
    {
        var whole = RepoPaths.NewTempDir();
        var uninterrupted = Pretraining.Run(Tiny(whole), resume: false);
        var expected = LossesOf(whole);

        var split = RepoPaths.NewTempDir();
        using var stop = new CancellationTokenSource();
        var stopAtSeven = new Callback(p => { if (p.Step == 7) stop.Cancel(); });
        var first = Pretraining.Run(Tiny(split), resume: false, stopAtSeven, cancel: stop.Token);
        Assert.False(first.Completed);
        Assert.Equal(7, CheckpointStore.Inspect(split).Step);

        var second = Pretraining.Run(Tiny(split) with { Train = Tiny(split).Train with { LearningRate = 1 } }, resume: true); // settings come from the run, not the caller
        Assert.True(second.Completed);
        Assert.Equal(expected, LossesOf(split));
        Assert.Equal(uninterrupted.FinalValidationLoss, second.FinalValidationLoss);
    }

    [Fact]
    public void Starting_over_an_existing_run_or_resuming_nothing_is_a_clear_error()
    {
        var dir = RepoPaths.NewTempDir();
        var e = Assert.Throws<UserError>(() => Pretraining.Run(Tiny(dir), resume: true));
        Assert.Contains("nothing to resume", e.Message);
        Pretraining.Run(Tiny(dir) with { Train = Tiny(dir).Train with { Steps = 2, EvalEvery = 0 } }, resume: false);
        e = Assert.Throws<UserError>(() => Pretraining.Run(Tiny(dir), resume: false));
        Assert.Contains("--resume", e.Message);
    }

    static double[] LossesOf(string runDir) => [.. CheckpointStore.Inspect(runDir).State.LossHistory.Select(p => p.Loss)];

    sealed class Callback(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
