using System.Text.Json.Nodes;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Model;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>A tiny model pretrained for a few steps on the arithmetic-rich corpus, shared by the end-to-end tests.</summary>
public sealed class TinyReasonerFixture
{
    public ReasoningModelSettings Settings { get; } = new()
    {
        Model = new GptConfig { ContextLength = 512, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 },
        VocabSize = 300, CorpusDocuments = 300, Device = "cpu", Seed = 4,
        Pretrain = new TrainConfig { Steps = 30, BatchSize = 8, SequenceLength = 64, LearningRate = 1e-2, WarmupSteps = 3, EvalEvery = 0, CheckpointEvery = 0 },
        SftExamples = 40,
        Sft = new TrainConfig { Steps = 3, BatchSize = 4, SequenceLength = 256, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1, CheckpointEvery = 0 },
    };

    public string Root { get; } = RepoPaths.NewTempDir("reasoner");
    public string Pretrained { get; }

    public TinyReasonerFixture()
    {
        var observer = new LineObserver(_ => { });
        var corpus = ReasoningRecipe.PrepareCorpus(Settings, Root, observer);
        Pretrained = ReasoningRecipe.Pretrain(Settings, corpus, Path.Combine(Root, "pretrain"), observer).OutDirectory;
    }
}

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class LoopAndCliTests(TinyReasonerFixture tiny) : IClassFixture<TinyReasonerFixture>
{
    [Fact]
    public void One_self_improvement_round_runs_end_to_end_and_writes_results()
    {
        var lines = new List<string>();
        var result = SelfImprovementLoop.Run(new SelfImproveSettings
        {
            Model = tiny.Pretrained, OutDirectory = RepoPaths.NewTempDir(), Rounds = 1, Questions = 4, MinSteps = 1, CombinedQuestions = 2, GeneratedQuestions = 2,
            Sampling = new SelfImprovementOptions { Samples = 4, Temperatures = [1.0], ConfidenceThreshold = 0, Seed = 2 },
            FineTune = new TrainConfig { Steps = 2, BatchSize = 4, SequenceLength = 256, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1, CheckpointEvery = 0 },
            EvalItems = 2, EvalMinSteps = 1, EvalSamples = 2, MaxNewTokens = 24, Device = "cpu", Seed = 4,
        }, new LineObserver(lines.Add));

        Assert.Equal([0, 1], result.Rounds.Select(r => r.Round));
        var round = result.Rounds[1];
        Assert.True(round.Confident > 0 && round.Examples > 0, string.Join('\n', lines));
        Assert.True(round.Questions >= 4);
        Assert.True(File.Exists(Path.Combine(result.OutDirectory, "round-1", "train.jsonl")));
        using (var bundle = Gpt4Sharp.Checkpoints.ModelBundle.Load(round.ModelDirectory)) Assert.Equal(32, bundle.Model.Config.DModel);
        Assert.Equal(2, JsonNode.Parse(File.ReadAllText(result.ResultsFile))!["rounds"]!.AsArray().Count);
        Assert.True(new FileInfo(result.Plot).Length > 1000);
    }

    [Fact]
    public void Emergence_sweep_records_parameters_compute_and_plots()
    {
        var result = Emergence.Run(new EmergenceSettings
        {
            OutDirectory = RepoPaths.NewTempDir(), Sizes = [new(32, 1), new(64, 1)], EvalItems = 2, EvalMinSteps = 1, MaxNewTokens = 8,
            Recipe = tiny.Settings with { Pretrain = tiny.Settings.Pretrain with { Steps = 2 }, Sft = tiny.Settings.Sft with { Steps = 1 } },
        }, new LineObserver(_ => { }));
        Assert.Equal(2, result.Points.Count);
        Assert.True(result.Points[1].Parameters > result.Points[0].Parameters);
        Assert.True(result.Points[1].TrainingFlops > result.Points[0].TrainingFlops);
        Assert.All(result.Plots, p => Assert.True(new FileInfo(p).Length > 1000));
    }

    [Fact]
    public void Sft_examples_cover_the_four_formats_from_training_items()
    {
        var pool = ExemplarPool.FromTraining("arithmetic", 1, poolSize: 8, maxDifficulty: 2);
        var items = Gpt4Sharp.Curriculum.CurriculumRegistry.Get("arithmetic").Generate(1, Gpt4Sharp.Curriculum.Split.Train, 8).ToList();
        var examples = ReasoningRecipe.FormatExamples(items, pool, shots: 1, seed: 1).ToList();
        Assert.EndsWith(ReasoningPrompts.DirectInstruction, examples[0].Messages[0].Content);
        Assert.StartsWith("Q: ", examples[1].Messages[0].Content);
        Assert.Equal(items[2].Response, examples[2].Messages[1].Content);
        Assert.Equal($"answer: {items[1].Answer}", examples[1].Messages[1].Content);
        var eval = ReasoningEvaluation.HeldOut("arithmetic", 1, 1);
        Assert.Throws<UserError>(() => ReasoningRecipe.FormatExamples(eval, pool, 1, 1).ToList());
    }

    [Fact]
    public async Task Reason_demo_smoke_preset_runs_every_phase_and_options_override_it()
    {
        var command = ReasoningCommands.Create()[0];
        var outDir = RepoPaths.NewTempDir();
        Assert.Equal(0, await command.Parse(["demo", "--preset", "smoke", "--items", "3", "--out", outDir]).InvokeAsync());
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")))!;
        Assert.Equal(4, results["formats"]!.AsArray().Count);
        Assert.All(results["formats"]!.AsArray(), f => Assert.Equal(3, (int)f!["items"]!));
        Assert.Equal(ReasoningRecipe.Family, (string)results["formats"]![0]!["family"]!);
        Assert.Equal(32, (int)results["settings"]!["recipe"]!["model"]!["d_model"]!);
        var rounds = results["self_improvement"]!.AsArray();
        Assert.Equal(2, rounds.Count);
        Assert.True((int)rounds[1]!["examples"]! > 0); // the smoke threshold of 0 always leaves data to fine-tune on
        Assert.True(Directory.Exists(Path.Combine(outDir, "self-improve", "round-1", "model", "checkpoints")));
        Assert.Equal(1, await command.Parse(["demo", "--preset", "huge", "--out", outDir]).InvokeAsync());
    }

    [Fact]
    public async Task Reason_eval_cli_writes_results_and_plot_and_rejects_bad_input()
    {
        var command = ReasoningCommands.Create()[0];
        var outDir = RepoPaths.NewTempDir();
        Assert.Equal(0, await command.Parse(["eval", "--model", tiny.Pretrained, "--format", "zero-shot,few-shot-cot", "--samples", "2", "--items", "2",
            "--min-steps", "1", "--max-tokens", "16", "--device", "cpu", "--out", outDir]).InvokeAsync());
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")))!;
        Assert.Equal(2, results["summaries"]!.AsArray().Count);
        Assert.True(File.Exists(Path.Combine(outDir, "accuracy_vs_samples.png")));
        Assert.Equal(1, await command.Parse(["eval", "--model", tiny.Pretrained, "--format", "tree", "--out", outDir]).InvokeAsync());
        Assert.Equal(1, await command.Parse(["eval", "--model", tiny.Pretrained, "--temperatures", "hot", "--out", outDir]).InvokeAsync());
    }
}
