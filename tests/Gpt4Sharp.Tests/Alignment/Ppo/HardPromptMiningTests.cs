using Gpt4Sharp.Alignment.Ppo;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class HardPromptMiningTests
{
    [Fact]
    public void Failed_units_are_drawn_more_often_and_every_other_unit_is_still_drawn()
    {
        var sampler = new HardPromptSampler(units: 50, boost: 20);
        sampler.Record(3, 1.0);    // every sample went wrong: weight 21
        sampler.Record(7, 0.5);    // half: weight 11
        sampler.Record(9, 0.0);    // all right: the floor, 1
        Assert.Equal((21.0, 11.0, 1.0, 1.0), (sampler.Weight(3), sampler.Weight(7), sampler.Weight(9), sampler.Weight(0)));
        Assert.Equal(2, sampler.Failing);

        var counts = new int[50];
        var random = new Random(1);
        const int draws = 80_000;
        for (int i = 0; i < draws; i++) counts[sampler.Draw(random)]++;
        double total = 48 + 21 + 11;   // 48 units at weight 1
        Assert.InRange(counts[3] / (double)draws, 21 / total * 0.93, 21 / total * 1.07);
        Assert.InRange(counts[7] / (double)draws, 11 / total * 0.9, 11 / total * 1.1);
        foreach (var unit in Enumerable.Range(0, 50).Except([3, 7]))
            Assert.InRange(counts[unit] / (double)draws, 1 / total * 0.75, 1 / total * 1.25);

        // Answered right next time: back to the floor, and the draws are uniform again.
        sampler.Record(3, 0);
        sampler.Record(7, 0);
        Assert.Equal(0, sampler.Failing);
        Assert.Equal(1.0, sampler.Weight(3));
    }

    [Fact]
    public void Without_failures_or_boost_the_draw_is_the_plain_uniform_one()
    {
        // Same generator state, same unit: turning mining on changes nothing until something fails.
        var (plain, mined) = (new Random(7), new Random(7));
        var sampler = new HardPromptSampler(units: 13, boost: 20);
        for (int i = 0; i < 100; i++) Assert.Equal(plain.Next(13), sampler.Draw(mined));
        var off = new HardPromptSampler(units: 13, boost: 0);
        off.Record(4, 1.0);
        (plain, mined) = (new Random(8), new Random(8));
        for (int i = 0; i < 100; i++) Assert.Equal(plain.Next(13), off.Draw(mined));
    }

    [Fact]
    public void A_sample_is_wrong_when_a_harmful_request_is_answered_or_a_benign_one_refused()
    {
        Assert.Equal(0.5, HardPromptSampler.FailureShare([(true, "I can't help with that."), (true, "Sure, first buy a knife.")]));
        Assert.Equal(0.25, HardPromptSampler.FailureShare([(false, "Open the settings app."), (false, "I can't help with that."), (false, "Use a pump."), (false, "Pick a date.")]));
        Assert.Equal(1.0, HardPromptSampler.FailureShare([(true, "Here is how."), (false, "I won't do that.")]));
        Assert.Equal(0.0, HardPromptSampler.FailureShare([]));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HardPromptSampler(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HardPromptSampler(3, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HardPromptSampler(3, 1).Record(0, 1.5));
        Assert.Throws<UserError>(() => new PpoSettings { HardPromptMining = -1 }.Validate());
        Assert.Throws<UserError>(() => new PpoSettings { HardPromptMining = double.NaN }.Validate());
    }

    [Fact]
    public void Safety_practice_groups_carry_a_label_per_prompt_and_knowledge_groups_none()
    {
        foreach (var framing in new[] { PromptFraming.Curriculum, PromptFraming.Contrastive })
            foreach (var stratum in PpoTrainer.PromptStrata(["safety", "knowledge"], 1234, 200, framing))
            {
                if (stratum.Name.StartsWith("knowledge/", StringComparison.Ordinal)) { Assert.Null(stratum.Harmful); continue; }
                Assert.NotNull(stratum.Harmful);
                Assert.Equal(stratum.Prompts.Count, stratum.Harmful!.Count);
                if (stratum.GroupSize == 2)
                    Assert.All(Enumerable.Range(0, stratum.Prompts.Count), i => Assert.Equal(i % 2 == 0, stratum.Harmful[i]));   // harmful, then its look-alike
                else
                    Assert.All(stratum.Harmful, h => Assert.Equal(stratum.Name == "safety/harmful", h));
            }
    }
}
