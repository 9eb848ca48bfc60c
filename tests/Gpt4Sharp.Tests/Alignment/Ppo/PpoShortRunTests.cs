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
        // The pooled mix follows how many distinct prompts each family happens to have; the balanced one does not.
        double HarmfulShareOfPool(int perFamily)
        {
            var pooled = PpoTrainer.CurriculumPrompts(["safety", "knowledge"], seed: 3, perFamily);
            var harmful = PpoTrainer.PromptStrata(["safety"], seed: 3, perFamily).Single(s => s.Name == "safety/harmful").Prompts.ToHashSet();
            return pooled.Count(harmful.Contains) / (double)pooled.Count;
        }
        Assert.True(Math.Abs(HarmfulShareOfPool(100) - HarmfulShareOfPool(400)) > 0.03, $"{HarmfulShareOfPool(100):P1} vs {HarmfulShareOfPool(400):P1}");
        Assert.Equal(0.25, PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 100).Single(s => s.Name == "safety/harmful").Share, 9);
        Assert.All(strata, s => Assert.Equal(s.Prompts.Count, s.Prompts.Distinct().Count()));
    }
}
