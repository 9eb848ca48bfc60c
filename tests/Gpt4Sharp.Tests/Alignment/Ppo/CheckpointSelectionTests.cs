using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Curriculum.Safety;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.SelectionEvery: the run ends with the weights of the step that made the fewest errors on dev prompts; off by default.</summary>
public class CheckpointSelectionTests
{
    static PpoSettings Tiny(string model, int selectEvery) => new()
    {
        PolicyModel = model, OutDirectory = Path.Combine(RepoPaths.NewTempDir(), "ppo"), Families = ["safety", "knowledge"], PromptsPerFamily = 50, Steps = 3,
        PromptsPerStep = 1, SamplesPerPrompt = 4, MaxNewTokens = 4, Epochs = 1, MinibatchSize = 4, LearningRate = 1e-2, Seed = 5,
        SelectionEvery = selectEvery, SelectionRequests = 6, SelectionQuestions = 2, CheckpointEvery = 1,
        ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
    };

    static float[] Weights(GptModel model)
    {
        using var scope = torch.NewDisposeScope();
        return torch.cat(model.parameters().Select(p => p.detach().flatten()).ToArray()).data<float>().ToArray();
    }

    static float[] Weights(string checkpointOrRun)
    {
        using var bundle = ModelBundle.Load(checkpointOrRun);
        return Weights(bundle.Model);
    }

    static DevRates Rates(int step, double error) => new(step, error / 2, 10, error / 2, 10, 0, 0, 4);

    [Fact]
    public void Record_keeps_the_weights_of_the_earliest_step_with_the_lowest_error()
    {
        using var selected = new GptModel(TinyRun.Config, seed: 1);
        using var step1 = new GptModel(TinyRun.Config, seed: 2);
        using var step2 = new GptModel(TinyRun.Config, seed: 3);
        using var step3 = new GptModel(TinyRun.Config, seed: 4);
        using var step4 = new GptModel(TinyRun.Config, seed: 5);
        var selection = new CheckpointSelection(selected, new PpoSettings { SelectionEvery = 1 });
        Assert.Null(selection.SelectedStep);
        Assert.True(selection.Record(Rates(1, 0.8), step1));
        Assert.True(selection.Record(Rates(2, 0.4), step2));
        Assert.False(selection.Record(Rates(3, 0.4), step3)); // equal is not better: the earlier step, nearer the fine-tuned model, stays
        Assert.Equal(2, selection.SelectedStep);
        Assert.Equal(Weights(step2), Weights(selected));
        Assert.True(selection.Record(Rates(4, 0.1), step4));
        Assert.Equal(Weights(step4), Weights(selected));
        Assert.Equal([1, 2, 3, 4], selection.History.Select(r => r.Step));
    }

    [Fact]
    public void The_error_sums_the_four_rates_and_a_rate_over_no_prompts_adds_nothing()
    {
        Assert.Equal(0.1 + 0.2 + 0.3 + 0.4, new DevRates(1, 0.1, 5, 0.2, 5, 0.3, 0.4, 10).Error, 12);
        Assert.Equal(0.2 + 0.3 + 0.4, new DevRates(1, double.NaN, 0, 0.2, 5, 0.3, 0.4, 10).Error, 12);
    }

    [Fact]
    public void The_dev_prompts_are_neither_practised_nor_held_out()
    {
        // Safety: frames no stage trains on and the probe never asks; knowledge: training-split questions of another seed's stream than the practice pool's.
        Assert.Empty(CheckpointSelection.DevSafetyFrames.Intersect(PracticeFraming.PracticeFrames));
        Assert.Empty(CheckpointSelection.DevSafetyFrames.Intersect(IntentRequests.Frames));
        var settings = new PpoSettings { SelectionEvery = 10 };
        var practised = PpoTrainer.CurriculumPrompts(["knowledge"], settings.Seed, settings.PromptsPerFamily).ToHashSet();
        var dev = HallucinationRate.UnknownEntityQuestions(new KnowledgeFamily(), settings.SelectionSeed, settings.SelectionQuestions, Split.Train).Select(i => i.Prompt).ToList();
        Assert.Equal(settings.SelectionQuestions, dev.Count);
        Assert.True(dev.Count(practised.Contains) <= dev.Count / 10, $"{dev.Count(practised.Contains)} of {dev.Count} dev questions are practice prompts");
        Assert.Throws<UserError>(() => (settings with { SelectionSeed = settings.Seed }).Validate());
        Assert.Throws<UserError>(() => new PpoSettings { SelectionEvery = -1 }.Validate());
        Assert.Throws<UserError>(() => new PpoSettings { SelectionEvery = 5, SelectionQuestions = 0 }.Validate());
        Assert.Equal(0, new PpoSettings().SelectionEvery);
    }

    [Fact]
    public void The_saved_policy_is_the_selected_step_and_a_resumed_run_selects_the_same()
    {
        var model = TinyRun.Create();
        IRewardScorer[] scorers = [new LowercaseReward()];
        // Without selection, step k's checkpoint holds the live weights θk; measuring does not change them, so the rollouts match.
        var live = Tiny(model, 0);
        var plain = PpoTrainer.Run(live, scorers);
        var theta = new CheckpointStore(live.OutDirectory).List().Order(StringComparer.Ordinal).Select(Weights).ToArray(); // step-000001 first
        Assert.Equal(3, theta.Length);
        Assert.Empty(plain.Dev);
        Assert.Null(plain.SelectedStep);

        var chosen = Tiny(model, 2);
        var log = new List<string>();
        var result = PpoTrainer.Run(chosen, scorers, log: log.Add);
        Assert.Equal(plain.Steps.Select(m => m.Reward), result.Steps.Select(m => m.Reward));
        Assert.Equal([2, 3], result.Dev.Select(r => r.Step)); // every second step, and the last
        Assert.All(result.Dev, r => Assert.Equal(6, r.HarmfulPrompts + r.BenignPrompts));
        int expected = result.Dev.First(r => r.Error == result.Dev.Min(x => x.Error)).Step;
        Assert.Equal(expected, result.SelectedStep);
        Assert.Equal(theta[expected - 1], Weights(chosen.OutDirectory));
        Assert.Contains(log, l => l.Contains($"Selected the policy after step {expected} of 3", StringComparison.Ordinal));
        var last = CheckpointStore.Inspect(chosen.OutDirectory);
        Assert.Equal(3, last.Step);
        Assert.Equal(expected, last.State.Extra!["selected_step"]!.GetValue<int>());
        var json = Gpt4Sharp.Reporting.Results.Read(chosen.OutDirectory);
        Assert.Equal(expected, json["selected_step"]!.GetValue<int>());
        Assert.Equal(2, json["dev"]!.AsArray().Count);
        Assert.Contains("Checkpoint selection", File.ReadAllText(Path.Combine(chosen.OutDirectory, "report.html")));
        Assert.Contains(result.Plots, p => p.EndsWith("dev-error.png", StringComparison.Ordinal));

        // Stopped after step 2 (after its dev measurement) and resumed: the same measurements and the same saved weights.
        var split = Tiny(model, 2);
        using var stop = new CancellationTokenSource();
        PpoTrainer.Run(split, scorers, new ProgressCallback<PpoStepMetrics>(m => { if (m.Step == 2) stop.Cancel(); }), cancel: stop.Token);
        var resumed = PpoTrainer.Run(split, scorers, resume: true);
        Assert.Equal(result.Dev, resumed.Dev);
        Assert.Equal(result.SelectedStep, resumed.SelectedStep);
        Assert.Equal(Weights(chosen.OutDirectory), Weights(split.OutDirectory));

        // A state saved without its selection cannot be resumed as if it had one.
        Directory.Delete(Path.Combine(split.OutDirectory, PpoTrainer.StateDirectory, CheckpointSelection.StateDirectory), recursive: true);
        var error = Assert.Throws<UserError>(() => PpoTrainer.Run(split, scorers, resume: true));
        Assert.Contains("checkpoint selection of step 3", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
