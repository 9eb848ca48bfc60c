using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.PolicyAverageDecay: the saved policy is a moving average of the live policy's weights, off by default.</summary>
public class PolicyAverageTests
{
    static PpoSettings Tiny(string model, double decay) => new()
    {
        PolicyModel = model, OutDirectory = Path.Combine(RepoPaths.NewTempDir(), "ppo"), Families = ["safety"], PromptsPerFamily = 50, Steps = 3,
        PromptsPerStep = 1, SamplesPerPrompt = 4, MaxNewTokens = 4, Epochs = 1, MinibatchSize = 4, LearningRate = 1e-2, Seed = 5,
        PolicyAverageDecay = decay, CheckpointEvery = 1, ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
    };

    // The weights a checkpoint directory holds, one flat vector.
    static float[] Weights(string checkpointOrRun)
    {
        using var scope = torch.NewDisposeScope();
        using var bundle = ModelBundle.Load(checkpointOrRun);
        return torch.cat(bundle.Model.parameters().Select(p => p.detach().flatten()).ToArray()).data<float>().ToArray();
    }

    [Fact]
    public void Update_moves_each_weight_a_share_of_the_way_to_the_policy()
    {
        using var average = new GptModel(TinyRun.Config, seed: 1);
        using var policy = new GptModel(TinyRun.Config, seed: 2);
        float a0 = average.parameters().First().flatten()[0].item<float>(), p0 = policy.parameters().First().flatten()[0].item<float>();
        new PolicyAverage(average, 0.75).Update(policy);
        Assert.Equal(0.75f * a0 + 0.25f * p0, average.parameters().First().flatten()[0].item<float>(), 6);
        Assert.Equal(p0, policy.parameters().First().flatten()[0].item<float>());
    }

    [Fact]
    public void The_saved_policy_is_the_average_of_the_live_steps_and_a_resumed_run_saves_the_same()
    {
        Assert.Equal(0, new PpoSettings().PolicyAverageDecay);
        var model = TinyRun.Create();
        IRewardScorer[] scorers = [new LowercaseReward()];
        // Without averaging, step k's checkpoint holds the live weights θk; averaging does not change them, so the rollouts match.
        var live = Tiny(model, 0);
        var plain = PpoTrainer.Run(live, scorers);
        var steps = new CheckpointStore(live.OutDirectory).List().Order(StringComparer.Ordinal).ToList(); // step-000001 first
        Assert.Equal(3, steps.Count);
        var theta = new[] { Weights(model) }.Concat(steps.Select(Weights)).ToArray();

        var averaged = Tiny(model, 0.5);
        var log = new List<string>();
        var result = PpoTrainer.Run(averaged, scorers, log: log.Add);
        Assert.Equal(plain.Steps.Select(m => m.Reward), result.Steps.Select(m => m.Reward));
        Assert.Contains(log, l => l.Contains("moving average of the policy's weights", StringComparison.Ordinal));
        // a3 = θ0/8 + θ1/8 + θ2/4 + θ3/2.
        var saved = Weights(averaged.OutDirectory);
        for (int i = 0; i < saved.Length; i++)
            Assert.Equal(theta[0][i] / 8 + theta[1][i] / 8 + theta[2][i] / 4 + theta[3][i] / 2, saved[i], 5);
        Assert.NotEqual(theta[3], saved);

        // Stopped after step 2 and resumed: the average continues from the saved one.
        var split = Tiny(model, 0.5);
        using var stop = new CancellationTokenSource();
        PpoTrainer.Run(split, scorers, new ProgressCallback<PpoStepMetrics>(m => { if (m.Step == 2) stop.Cancel(); }), cancel: stop.Token);
        PpoTrainer.Run(split, scorers, resume: true);
        Assert.Equal(saved, Weights(split.OutDirectory));
    }

    [Fact]
    public void Resuming_without_the_saved_average_is_a_one_sentence_error()
    {
        var settings = Tiny(TinyRun.Create(), 0.5);
        using var stop = new CancellationTokenSource();
        PpoTrainer.Run(settings, [new LowercaseReward()], new ProgressCallback<PpoStepMetrics>(m => { if (m.Step == 1) stop.Cancel(); }), cancel: stop.Token);
        Directory.Delete(Path.Combine(settings.OutDirectory, PpoTrainer.StateDirectory, PolicyAverage.StateDirectory), recursive: true);
        var error = Assert.Throws<UserError>(() => PpoTrainer.Run(settings, [new LowercaseReward()], resume: true));
        Assert.Contains("averaged policy of step 1", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void A_decay_outside_0_to_1_is_a_one_sentence_error(double decay)
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { PolicyAverageDecay = decay }.Validate());
        Assert.Contains("policy average", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
