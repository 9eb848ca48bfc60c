using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Model;
using TorchSharp;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class PpoMechanicsTests
{
    [Fact]
    public void Gae_matches_the_recursion_worked_by_hand()
    {
        // γ = 0.9, λ = 0.5; V after the last token is 0.
        var (adv, ret) = Advantages.Gae([1.0, 0.0, 2.0], [0.5, 0.2, 1.0], gamma: 0.9, lambda: 0.5);
        double d2 = 2.0 - 1.0, d1 = 0.0 + 0.9 * 1.0 - 0.2, d0 = 1.0 + 0.9 * 0.2 - 0.5;
        double a2 = d2, a1 = d1 + 0.45 * a2, a0 = d0 + 0.45 * a1;
        Assert.Equal([a0, a1, a2], adv, (x, y) => Math.Abs(x - y) < 1e-12);
        Assert.Equal([a0 + 0.5, a1 + 0.2, a2 + 1.0], ret, (x, y) => Math.Abs(x - y) < 1e-12);
        // λ = 1, γ = 1: the advantage is the reward-to-go minus the value.
        var (mc, _) = Advantages.Gae([1.0, 2.0, 3.0], [0.0, 1.0, 0.0], 1, 1);
        Assert.Equal([6.0, 4.0, 3.0], mc);
    }

    [Fact]
    public void Whitening_gives_zero_mean_unit_spread_or_keeps_the_mean()
    {
        double[] x = [1, 2, 3, 4, 10];
        Advantages.Whiten(x);
        Assert.Equal(0, x.Average(), 10);
        Assert.Equal(1, Math.Sqrt(x.Sum(v => v * v) / (x.Length - 1)), 10);
        double[] y = [1, 2, 3, 4, 10];
        Advantages.Whiten(y, shiftMean: false);
        Assert.Equal(4, y.Average(), 10);
        Assert.Equal(1, Math.Sqrt(y.Sum(v => (v - 4) * (v - 4)) / (y.Length - 1)), 10);
    }

    [Fact]
    public void Kl_controller_raises_beta_above_target_lowers_it_below_and_clips_the_error()
    {
        var kl = new AdaptiveKlController(0.1, target: 6, horizon: 100);
        kl.Update(12, rollouts: 10); // error clipped to +0.2
        Assert.Equal(0.1 * 1.02, kl.Coefficient, 12);
        kl.Update(5.4, rollouts: 10); // error -0.1
        Assert.Equal(0.1 * 1.02 * 0.99, kl.Coefficient, 12);
        Assert.Throws<UserError>(() => new AdaptiveKlController(0.1, 0, 10));
    }

    [Fact]
    public void Policy_with_value_gives_the_language_model_logits_and_zero_initial_values()
    {
        using var scope = torch.NewDisposeScope();
        var config = new GptConfig { VocabSize = 50, ContextLength = 16, DModel = 16, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 32 };
        using var model = new GptModel(config, seed: 3);
        using var actorCritic = new PolicyWithValue(model);
        var tokens = torch.tensor(new long[] { 1, 5, 7, 2, 9, 4 }, [2, 3]);
        var (logits, values) = actorCritic.Forward(tokens);
        Assert.True(logits.allclose(model.Forward(tokens), rtol: 1e-5, atol: 1e-6));
        Assert.Equal([2L, 3L], values.shape);
        Assert.Equal(0, values.abs().max().item<float>());
    }
}
