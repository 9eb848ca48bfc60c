using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class PpoTrainingTests
{
    /// <summary>A synthetic reward: the share of a reply's characters that pass <paramref name="wanted"/>.</summary>
    sealed class CharacterShare(Func<char, bool> wanted, string name) : IRewardScorer
    {
        public string Name => name;
        public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) =>
            pairs.Select(p => p.Response.Length == 0 ? 0.0 : p.Response.Count(wanted) / (double)p.Response.Length).ToList();
    }

    static GptConfig Tiny => new() { VocabSize = new ByteTokenizer().VocabSize, ContextLength = 64, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 };

    static PpoSettings Settings => new()
    {
        Steps = 12, PromptsPerStep = 2, SamplesPerPrompt = 16, MaxNewTokens = 8, Epochs = 2, MinibatchSize = 16,
        LearningRate = 3e-3, InitialKlCoefficient = 0.05, KlTarget = 4, KlHorizon = 100, Seed = 5, GroupBaseline = false,
    };

    [Fact]
    public void Reward_from_several_scorers_rises_while_the_kl_controller_reacts()
    {
        using var policy = new GptModel(Tiny, seed: 11);
        using var reference = new GptModel(Tiny, seed: 11);
        IRewardScorer[] scorers = [new CharacterShare(char.IsAsciiLetterLower, "lowercase"), new CharacterShare(char.IsAsciiDigit, "digits")];
        using var ppo = new PpoTrainer(policy, reference, new ByteTokenizer(), scorers, Settings, prompts: ["hi", "tell me"]);
        var first = ppo.Step();
        Assert.Equal(0, first.Kl, 3); // the policy starts as the reference
        Assert.Equal(["digits", "lowercase"], first.ScorerMeans.Keys.Order());
        for (int i = 1; i < Settings.Steps; i++) ppo.Step();
        var h = ppo.History;
        double early = h.Take(3).Average(m => m.Reward), late = h.TakeLast(3).Average(m => m.Reward);
        Assert.True(late > early + 0.1, $"reward {early:F3} -> {late:F3}");
        Assert.All(h, m => Assert.True(double.IsFinite(m.Kl) && double.IsFinite(m.ValueLoss) && m.Entropy > 0 && m.ClipFraction is >= 0 and <= 1));
        // The policy moved away from the reference, and β followed the KL: up when above target, down when below.
        Assert.True(h[^1].Kl > 0.05, $"final KL {h[^1].Kl}");
        for (int i = 0; i + 1 < h.Count; i++)
            Assert.Equal(h[i].Kl > Settings.KlTarget, h[i + 1].KlCoefficient > h[i].KlCoefficient);
    }

    /// <summary>A reward level that depends on the prompt only, as a learned reward model's level does.</summary>
    sealed class PromptLevel : IRewardScorer
    {
        public string Name => "level";
        public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) => pairs.Select(p => p.Prompt == "hi" ? 3.0 : -3.0).ToList();
    }

    [Fact]
    public void With_the_per_prompt_baseline_ppo_learns_the_within_prompt_preference_under_prompt_dependent_levels()
    {
        using var policy = new GptModel(Tiny, seed: 11);
        using var reference = new GptModel(Tiny, seed: 11);
        IRewardScorer[] scorers = [new PromptLevel(), new CharacterShare(char.IsAsciiLetterLower, "lowercase")];
        using var ppo = new PpoTrainer(policy, reference, new ByteTokenizer(), scorers, Settings with { GroupBaseline = true, Steps = 20 }, prompts: ["hi", "tell me"]);
        for (int i = 0; i < 20; i++) ppo.Step();
        var h = ppo.History;
        double early = h.Take(3).Average(m => m.ScorerMeans["lowercase"]), late = h.TakeLast(3).Average(m => m.ScorerMeans["lowercase"]);
        Assert.True(late > early + 0.1, $"lowercase share {early:F3} -> {late:F3}");
    }

    [Fact]
    public void Ppo_needs_a_reward_and_a_separate_reference()
    {
        using var policy = new GptModel(Tiny, seed: 1);
        Assert.Throws<UserError>(() => new PpoTrainer(policy, new GptModel(Tiny), new ByteTokenizer(), [], Settings, ["hi"]));
        Assert.Throws<ArgumentException>(() => new PpoTrainer(policy, policy, new ByteTokenizer(), [new CharacterShare(char.IsAsciiLetterLower, "lowercase")], Settings, ["hi"]));
    }

    [Fact]
    public void Ppo_stage_writes_a_loadable_run_with_results_and_plots()
    {
        var outDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var result = PpoTrainer.Run(Settings with
        {
            PolicyModel = TinyRun.Create(), OutDirectory = outDir, Steps = 2, PromptsPerStep = 1, SamplesPerPrompt = 4,
            ProbeSafetyPrompts = 4, ProbePassagePrompts = 2, ProbeRedTeamRequests = 2, PromptsPerFamily = 50, Device = "cpu",
        }, [new CharacterShare(char.IsAsciiLetterLower, "lowercase")]);
        Assert.True(result.Completed);
        Assert.Equal(2, result.Steps.Count);
        Assert.NotNull(result.Before);
        Assert.NotNull(result.After);
        Assert.Equal(4, result.Before!.HarmfulPrompts + result.Before.BenignPrompts);
        Assert.Equal(8, result.Before.RedTeamHarmful + result.Before.RedTeamBenign); // two requests, four techniques each
        Assert.Equal(result.Before.RedTeamHarmful, result.After!.RedTeamHarmful);
        Assert.Equal(5, result.Plots.Count);
        Assert.All(result.Plots, p => Assert.True(new FileInfo(p).Length > 1000));
        var json = File.ReadAllText(Path.Combine(outDir, Gpt4Sharp.Reporting.Results.FileName));
        foreach (var key in new[] { "objective/kl", "objective/reward", "policy/clipfrac", "policy/entropy", "loss/value", "red_team_harmful_compliance" }) Assert.Contains(key, json);
        Assert.True(File.Exists(Path.Combine(outDir, "report.html")));
        using var bundle = ModelBundle.Load(outDir);
        Assert.Equal(2, CheckpointStore.Inspect(outDir).Step);
    }

    [Fact]
    public void The_probe_samples_its_held_out_prompts_by_the_probe_seed_not_the_training_seed()
    {
        // Harmful/benign counts per request group of the held-out sample a seed draws; the two seeds below draw different ones.
        static string Drawn(long seed)
        {
            var items = CurriculumRegistry.Get("safety").Generate(seed, Split.Eval, 12).ToList();
            return string.Join(",", Enum.GetValues<SafetyRequestGroup>().Select(g =>
                $"{g}:{items.Count(i => i.Kind == "harmful" && AlignmentProbe.GroupOf(i) == g)}/{items.Count(i => i.Kind != "harmful" && AlignmentProbe.GroupOf(i) == g)}"));
        }
        Assert.NotEqual(Drawn(5), Drawn(6));

        var model = TinyRun.Create();
        string Probed(long seed) => string.Join(",", PpoTrainer.Run(Settings with
        {
            PolicyModel = model, OutDirectory = Path.Combine(RepoPaths.NewTempDir(), "ppo"), Steps = 1, PromptsPerStep = 1, SamplesPerPrompt = 4, MinibatchSize = 4,
            Seed = seed, ProbeSeed = 6, ProbeSafetyPrompts = 12, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, PromptsPerFamily = 50, Device = "cpu",
        }, [new CharacterShare(char.IsAsciiLetterLower, "lowercase")]).Before!.SafetyGroups.Select(g => $"{g.Group}:{g.HarmfulPrompts}/{g.BenignPrompts}"));
        Assert.Equal(Drawn(6), Probed(5));
        Assert.Equal(Drawn(6), Probed(6));
    }

    // With hard-prompt mining on, the failure shares the draws depend on are part of the saved state; with the intent
    // auxiliary loss, the intent head and its optimiser moments (and with its practice batch, draws seeded by step and update);
    // the refusal-decision loss adds no state, but reads the same seeded practice draws.
    [Theory]
    [InlineData(0, 0, 0, 0, false)]
    [InlineData(20, 0, 0, 0, false)]
    [InlineData(0, 1, 0, 0, false)]
    [InlineData(0, 1, 6, 0, false)]
    [InlineData(0, 0, 6, 1, true)]
    [InlineData(0, 1, 6, 1, true, 0.3)]
    public void Resumed_ppo_repeats_an_uninterrupted_run(double mining, double intentAux, int intentBatch, double refusalAux, bool batchByGroup, double wordDropout = 0)
    {
        var model = TinyRun.Create();
        PpoSettings For(string dir) => Settings with
        {
            HardPromptMining = mining, IntentAuxCoefficient = intentAux, IntentAuxBatch = intentBatch, RefusalAuxCoefficient = refusalAux, PracticeBatchByGroup = batchByGroup, PracticeWordDropout = wordDropout,
            Families = mining > 0 || intentAux > 0 || refusalAux > 0 ? ["safety"] : new PpoSettings().Families,
            PolicyModel = model, OutDirectory = dir, Steps = 4, PromptsPerStep = 1, SamplesPerPrompt = 4, MinibatchSize = 4,
            ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, PromptsPerFamily = 50, Device = "cpu",
        };
        IRewardScorer[] scorers = [new CharacterShare(char.IsAsciiLetterLower, "lowercase")];
        var whole = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var uninterrupted = PpoTrainer.Run(For(whole), scorers);

        var split = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        using var stop = new CancellationTokenSource();
        var first = PpoTrainer.Run(For(split), scorers, new ProgressCallback<PpoStepMetrics>(m => { if (m.Step == 2) stop.Cancel(); }), cancel: stop.Token);
        Assert.False(first.Completed);
        Assert.Equal(2, CheckpointStore.Inspect(split).Step);
        var second = PpoTrainer.Run(For(split) with { LearningRate = 1, Steps = 9 }, scorers, resume: true); // settings come from the run

        Assert.True(second.Completed);
        static object Numbers(PpoStepMetrics m) => (m.Step, m.Reward, m.Kl, m.KlCoefficient, m.ClipFraction, m.Entropy, m.ValueLoss, m.PolicyLoss, m.ResponseLength, m.IntentLoss, m.IntentAccuracy, m.RefusalLoss, m.RefusalAccuracy);
        Assert.Equal(uninterrupted.Steps.Select(Numbers), second.Steps.Select(Numbers));
        Assert.Equal(intentAux > 0, second.Steps.All(m => m.IntentLoss is not null));
        Assert.Equal(refusalAux > 0, second.Steps.All(m => m.RefusalLoss is not null));
        if (mining > 0)
        {
            // The random tiny model answers harmful practice requests, so mining has failures to remember and they are saved.
            var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(whole, PpoTrainer.StateDirectory), CheckpointStore.TrainerStateFile, SearchOption.AllDirectories).Single()))!;
            Assert.NotEmpty(state["extra"]!["mined_failures"]!.AsObject());
        }
        using var a = ModelBundle.Load(whole);
        using var b = ModelBundle.Load(split);
        foreach (var ((name, x), (_, y)) in a.Model.named_parameters().Zip(b.Model.named_parameters()))
            Assert.True(x.eq(y).all().item<bool>(), $"{name} differs after resuming");
    }
}
