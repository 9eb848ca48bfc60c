using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>
/// The safety practice reserve: a share of the training-split safety requests that fine-tuning never shows and PPO
/// practises on alone, so the two stages' prompt sets are apart (InstructGPT's separate SFT and PPO prompt sets).
/// </summary>
public class SafetyPracticeReserveTests
{
    const double Share = 0.3;

    static IEnumerable<CurriculumItem> SafetyItems(int count) => CurriculumRegistry.Get("safety").Generate(11, Split.Train, count);

    [Fact]
    public void A_request_is_on_one_side_of_the_reserve_in_every_wording()
    {
        var items = SafetyItems(3000).ToList();
        var byRequest = items.GroupBy(SafetyFamily.RequestKey).ToList();
        // Topic × intent requests come in several sentence frames and prefixes, yet each combination is one request.
        Assert.Contains(byRequest, g => g.Key.StartsWith("intent|", StringComparison.Ordinal) && g.Select(i => i.Prompt).Distinct().Count() > 1);
        Assert.All(byRequest, g => Assert.Single(g.Select(i => SafetyFamily.IsReservedForPractice(i, Share)).Distinct()));
        var reserved = byRequest.Count(g => SafetyFamily.IsReservedForPractice(g.First(), Share));
        Assert.InRange(reserved / (double)byRequest.Count, Share - 0.1, Share + 0.1);
        // Both kinds of request and both kinds of item fall on both sides.
        foreach (var kind in new[] { "harmful", "benign" })
            Assert.Equal([false, true], items.Where(i => i.Kind == kind).Select(i => SafetyFamily.IsReservedForPractice(i, Share)).Distinct().Order());
        Assert.DoesNotContain(items, i => SafetyFamily.IsReservedForPractice(i, 0));
    }

    [Fact]
    public void Fine_tuning_leaves_the_reserve_out_and_PPO_practises_on_it_alone()
    {
        var plain = Mixture.DefaultFineTune(seed: 4, count: 4000);
        var reserving = plain with { SafetyPracticeReserve = Share };
        var withReserve = reserving.Items().Select(p => p.Item).ToList();
        var without = plain.Items().Select(p => p.Item).ToList();
        Assert.Contains(without, i => i.Family == "safety" && SafetyFamily.IsReservedForPractice(i, Share));
        Assert.DoesNotContain(withReserve, i => i.Family == "safety" && SafetyFamily.IsReservedForPractice(i, Share));
        // The other families' items, and the family each index draws, are unchanged.
        Assert.Equal(without.Select(i => i.Family), withReserve.Select(i => i.Family));
        Assert.Equal(without.Where(i => i.Family != "safety").Select(i => i.Id), withReserve.Where(i => i.Family != "safety").Select(i => i.Id));

        var practice = PpoTrainer.PracticeItems("safety", seed: 4, count: 500, Share).ToList();
        Assert.Equal(500, practice.Count);
        Assert.All(practice, i => Assert.True(SafetyFamily.IsReservedForPractice(i, Share), i.Prompt));
        Assert.Empty(practice.Select(SafetyFamily.RequestKey).Intersect(withReserve.Where(i => i.Family == "safety").Select(SafetyFamily.RequestKey)));
        Assert.Contains(practice, i => i.Kind == "harmful");
        Assert.Contains(practice, i => i.Kind == "benign");

        // The prompt pool follows: its safety prompts are the reserve's, its knowledge prompts as without one.
        var strata = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 4, perFamily: 500, safetyReserve: Share);
        var reservedPrompts = practice.Select(i => i.Prompt).ToHashSet();
        Assert.All(strata.Where(s => s.Name.StartsWith("safety/", StringComparison.Ordinal)).SelectMany(s => s.Prompts), p => Assert.Contains(p, reservedPrompts));
        Assert.Equal(PpoTrainer.PromptStrata(["knowledge"], 4, 500).SelectMany(s => s.Prompts), strata.Where(s => s.Name.StartsWith("knowledge/", StringComparison.Ordinal)).SelectMany(s => s.Prompts));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_share_outside_zero_to_one_is_one_clear_error(double share)
    {
        var mixture = Assert.Throws<UserError>(() => (Mixture.DefaultFineTune(1, 10) with { SafetyPracticeReserve = share }).Validated());
        Assert.Contains("safety_practice_reserve", mixture.Message);
        var ppo = Assert.Throws<UserError>(() => new PpoSettings { SafetyPracticeReserve = share }.Validate());
        Assert.Contains("safety practice reserve", ppo.Message);
    }

    [Fact]
    public void A_reserve_too_small_to_hold_a_request_is_one_clear_error_not_an_endless_scan()
    {
        var error = Assert.Throws<UserError>(() => PpoTrainer.PracticeItems("safety", seed: 4, count: 10, safetyReserve: 1e-6).ToList());
        Assert.Contains("holds no training-split safety request", error.Message);
    }
}
