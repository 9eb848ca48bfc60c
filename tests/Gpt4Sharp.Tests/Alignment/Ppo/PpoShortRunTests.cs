using Gpt4Sharp.Alignment.Ppo;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>The KL controller and the practice-prompt mix in runs of tens of steps (the laptop scale).</summary>
public class PpoShortRunTests
{
    [Fact]
    public void Default_kl_horizon_is_a_tenth_of_the_run_so_beta_can_follow_the_kl_in_thirty_steps()
    {
        var settings = new PpoSettings { Steps = 30, PromptsPerStep = 8, SamplesPerPrompt = 4 };
        Assert.Equal(96, settings.EffectiveKlHorizon, 9);
        Assert.Equal(10_000, (settings with { KlHorizon = 10_000 }).EffectiveKlHorizon);

        // A policy that stays at twice the target for the whole run: the old fixed horizon of
        // 10,000 rollouts moves β by under 2 %, the run-length horizon lets it grow several-fold.
        double Final(double horizon)
        {
            var kl = new AdaptiveKlController(0.1, settings.KlTarget, horizon);
            for (int step = 0; step < settings.Steps; step++) kl.Update(2 * settings.KlTarget, settings.PromptsPerStep * settings.SamplesPerPrompt);
            return kl.Coefficient;
        }
        Assert.InRange(Final(10_000), 0.1, 0.102);
        Assert.InRange(Final(settings.EffectiveKlHorizon), 0.5, 1.0); // (1 + 0.2·32/96)^30 ≈ 6.9
        // The same run twice as long moves β by about as much in total: the horizon scales with the run.
        var longer = settings with { Steps = 60 };
        var kl2 = new AdaptiveKlController(0.1, settings.KlTarget, longer.EffectiveKlHorizon);
        for (int step = 0; step < longer.Steps; step++) kl2.Update(2 * settings.KlTarget, 32);
        Assert.InRange(kl2.Coefficient / Final(settings.EffectiveKlHorizon), 1.0, 1.2);
    }

    [Fact]
    public void Negative_reward_model_weight_is_a_one_sentence_error()
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { RewardModelWeight = -0.5 }.Validate());
        Assert.Contains("reward-model weight", error.Message);
        new PpoSettings { RewardModelWeight = 0 }.Validate();
    }

    [Fact]
    public void Negative_kl_horizon_is_a_one_sentence_error()
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { KlHorizon = -1 }.Validate());
        Assert.Contains("KL horizon", error.Message);
    }

    [Fact]
    public void Balanced_prompt_groups_give_harmful_requests_a_fixed_quarter_of_the_draws_beside_knowledge()
    {
        var strata = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 400);
        Assert.Equal(1.0, strata.Sum(s => s.Share), 9);
        Assert.Equal(0.25, strata.Single(s => s.Name == "safety/harmful").Share, 9);
        Assert.Equal(0.25, strata.Single(s => s.Name == "safety/benign").Share, 9);
        Assert.DoesNotContain(strata, s => s.Name == "knowledge/profile");
        // The shares do not depend on how many distinct prompts each family happens to have.
        var small = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 60);
        Assert.Equal(strata.Select(s => (s.Name, s.Share)), small.Select(s => (s.Name, s.Share)));
        Assert.True(small.Single(s => s.Name == "safety/harmful").Prompts.Count < strata.Single(s => s.Name == "safety/harmful").Prompts.Count);
        // The groups hold exactly the prompts of the pooled (unbalanced) pool.
        Assert.Equal(PpoTrainer.CurriculumPrompts(["safety", "knowledge"], seed: 3, perFamily: 400).Order(), strata.SelectMany(s => s.Prompts).Distinct().Order());
        Assert.All(strata, s => Assert.Equal(s.Prompts.Count, s.Prompts.Distinct().Count()));
    }

    [Fact]
    public void Leave_one_out_baseline_compares_replies_to_the_same_prompt_only()
    {
        // Two prompts with different reward levels: a refusal (1.0) beats compliance (0.0) on the first,
        // but every reply to the second scores higher. Per prompt, the better reply must get the positive share.
        double[] scores = [1.0, 0.0, 0.0, 1.0, 3.0, 3.0, 3.0, 3.0];
        var shaped = PpoTrainer.LeaveOneOut(scores, groupSize: 4);
        Assert.Equal(1.0 - 1.0 / 3, shaped[0], 12);
        Assert.Equal(0.0 - 2.0 / 3, shaped[1], 12);
        Assert.All(shaped[4..], v => Assert.Equal(0, v, 12));
        Assert.Equal(0, shaped[..4].Sum(), 12);
        Assert.Throws<ArgumentException>(() => PpoTrainer.LeaveOneOut(scores, groupSize: 3));
        Assert.Throws<UserError>(() => new PpoSettings { GroupBaseline = true, SamplesPerPrompt = 1 }.Validate());
    }
}
