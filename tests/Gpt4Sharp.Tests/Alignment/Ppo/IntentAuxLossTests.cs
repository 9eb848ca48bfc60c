using System.Text.Json.Nodes;
using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.IntentAuxCoefficient: an intent head on the policy's trunk trained beside PPO, off by default.</summary>
public class IntentAuxLossTests
{
    // Safety prompts only, so every step holds labelled rollouts (a harmful request or a benign look-alike).
    static PpoSettings Tiny(string model, string outDir, double coefficient) => new()
    {
        PolicyModel = model, OutDirectory = outDir, Families = ["safety"], PromptsPerFamily = 50, Steps = 8, PromptsPerStep = 2, SamplesPerPrompt = 2,
        MaxNewTokens = 4, Epochs = 2, MinibatchSize = 4, LearningRate = 3e-3, Seed = 5, IntentAuxCoefficient = coefficient,
        ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
    };

    // Tensor names in the PPO state's newest checkpoint: a safetensors file starts with its JSON header's length, then the header.
    static IReadOnlyList<string> StateTensorNames(string outDir)
    {
        var file = Directory.GetFiles(Path.Combine(outDir, PpoTrainer.StateDirectory), CheckpointStore.ModelFile, SearchOption.AllDirectories).Single();
        using var reader = new BinaryReader(File.OpenRead(file));
        var header = JsonNode.Parse(reader.ReadBytes((int)reader.ReadUInt64()))!.AsObject();
        return [.. header.Select(kv => kv.Key).Where(k => k != "__metadata__")];
    }

    [Fact]
    public void Off_by_default_no_head_is_built_and_nothing_is_logged()
    {
        Assert.Equal(0, new PpoSettings().IntentAuxCoefficient);
        using var model = new GptModel(TinyRun.Config, seed: 3);
        using var plain = new PolicyWithValue(model);
        Assert.False(plain.HasIntentHead);
        Assert.DoesNotContain(plain.state_dict().Keys, k => k.Contains("intent", StringComparison.Ordinal));
        Assert.Null(plain.ForwardAll(torch.tensor(new long[] { 1, 2, 3 }, [1, 3])).Intent);

        var outDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var result = PpoTrainer.Run(Tiny(TinyRun.Create(), outDir, 0) with { Steps = 2 }, [new LowercaseReward()]);
        Assert.All(result.Steps, m => Assert.Null(m.IntentLoss));
        Assert.All(PpoRunFiles.Steps(outDir), s => Assert.False(s!.AsObject().ContainsKey("loss/intent")));
        Assert.DoesNotContain(StateTensorNames(outDir), n => n.Contains("intent", StringComparison.Ordinal));
    }

    [Fact]
    public void With_a_coefficient_the_head_learns_the_labels_and_the_saved_policy_is_a_plain_run()
    {
        var model = TinyRun.Create();
        var outDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var result = PpoTrainer.Run(Tiny(model, outDir, 1.0) with { Steps = 40, PromptsPerStep = 4 }, [new LowercaseReward()]);

        Assert.All(result.Steps, m => Assert.True(m.IntentLoss is > 0 and < 5 && m.IntentAccuracy is >= 0 and <= 1));
        // Four new prompts a step (with two, one confident miss can outweigh the learning): the head's loss on them can
        // only fall below chance's ln 2 by learning what the labels follow.
        double early = result.Steps.Take(10).Average(m => m.IntentLoss!.Value), late = result.Steps.TakeLast(10).Average(m => m.IntentLoss!.Value);
        Assert.True(late < Math.Min(early, Math.Log(2)), string.Join(", ", result.Steps.Select(m => m.IntentLoss)));
        Assert.Equal(result.Steps.Select(m => m.IntentLoss!.Value), PpoRunFiles.Steps(outDir).Select(s => s!["loss/intent"]!.GetValue<double>()));

        // The saved policy is an ordinary run with exactly the language model's tensors; the head lives only in the PPO state.
        using var bundle = ModelBundle.Load(outDir);
        using var fresh = new GptModel(TinyRun.Config);
        Assert.Equal(fresh.state_dict().Keys.Order(), bundle.Model.state_dict().Keys.Order());
        Assert.Contains(StateTensorNames(outDir), n => n.StartsWith("intent_head.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_practice_batch_joins_the_intent_loss_and_the_loss_falls()
    {
        var model = TinyRun.Create();
        var plainDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var batchDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var plain = PpoTrainer.Run(Tiny(model, plainDir, 1.0) with { Steps = 2 }, [new LowercaseReward()]);
        var result = PpoTrainer.Run(Tiny(model, batchDir, 1.0) with { Steps = 24, IntentAuxBatch = 16 }, [new LowercaseReward()]);

        // The first update of step 1 starts from the same weights and rollouts: only the 16 extra prompts can change its loss.
        Assert.NotEqual(plain.Steps[0].IntentLoss, result.Steps[0].IntentLoss);
        Assert.Equal(plain.Steps[0].Reward, result.Steps[0].Reward);
        Assert.All(result.Steps, m => Assert.True(m.IntentLoss is > 0 and < 5, $"{m.IntentLoss}"));
        double early = result.Steps.Take(6).Average(m => m.IntentLoss!.Value), late = result.Steps.TakeLast(6).Average(m => m.IntentLoss!.Value);
        Assert.True(late < Math.Min(early, Math.Log(2)), string.Join(", ", result.Steps.Select(m => m.IntentLoss)));
        Assert.Equal(result.Steps.Select(m => m.IntentLoss!.Value), PpoRunFiles.Steps(batchDir).Select(s => s!["loss/intent"]!.GetValue<double>()));
    }

    [Fact]
    public void Drawn_by_group_the_practice_batch_takes_the_rollouts_shares()
    {
        var model = TinyRun.Create();
        PpoSettings Contrastive(bool byGroup) => Tiny(model, Path.Combine(RepoPaths.NewTempDir(), "ppo"), 1.0) with
            { Steps = 1, IntentAuxBatch = 16, PracticeBatchByGroup = byGroup, PromptFraming = PromptFraming.Contrastive };
        var pooledLog = new List<string>();
        var byGroupLog = new List<string>();
        var pooled = PpoTrainer.Run(Contrastive(false), [new LowercaseReward()], log: pooledLog.Add);
        var byGroup = PpoTrainer.Run(Contrastive(true), [new LowercaseReward()], log: byGroupLog.Add);

        // Pairs take half the rollouts and the fixed harmful and benign requests a quarter each; pooled, the worded pairs outnumber them.
        var line = Assert.Single(byGroupLog, l => l.StartsWith("Practice batch", StringComparison.Ordinal));
        Assert.Matches(@"drawn by group: safety/pairs [\d,]+ prompts \(50 ?%.*safety/benign [\d,]+ prompts \(25 ?%.*safety/harmful [\d,]+ prompts \(25 ?%", line);
        Assert.Contains("drawn from the pooled prompts", Assert.Single(pooledLog, l => l.StartsWith("Practice batch", StringComparison.Ordinal)));
        Assert.NotEqual(pooled.Steps[0].IntentLoss, byGroup.Steps[0].IntentLoss);
        Assert.Equal(pooled.Steps[0].Reward, byGroup.Steps[0].Reward);
    }

    [Fact]
    public void Drawing_by_group_without_a_practice_batch_is_a_one_sentence_error()
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { PracticeBatchByGroup = true }.Validate());
        Assert.Contains("--intent-aux-batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_practice_batch_without_labelled_prompts_is_a_one_sentence_error()
    {
        var settings = Tiny(TinyRun.Create(), Path.Combine(RepoPaths.NewTempDir(), "ppo"), 1.0) with { IntentAuxBatch = 4, Families = ["knowledge"] };
        var error = Assert.Throws<UserError>(() => PpoTrainer.Run(settings, [new LowercaseReward()]));
        Assert.Contains("--intent-aux-batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(-1, 0.5)]
    [InlineData(8, 0.0)]
    public void A_negative_practice_batch_or_one_without_the_intent_loss_is_a_one_sentence_error(int batch, double coefficient)
    {
        Assert.Equal(0, new PpoSettings().IntentAuxBatch);
        var error = Assert.Throws<UserError>(() => new PpoSettings { IntentAuxBatch = batch, IntentAuxCoefficient = coefficient }.Validate());
        Assert.Contains("practice batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_non_finite_coefficient_is_a_one_sentence_error(double coefficient)
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { IntentAuxCoefficient = coefficient }.Validate());
        Assert.Contains("intent auxiliary loss", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
