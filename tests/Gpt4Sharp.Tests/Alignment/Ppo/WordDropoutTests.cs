using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.PracticeWordDropout: words of the labelled practice prompts left out at random, off by default.</summary>
public class WordDropoutTests
{
    const string Prompt = "Please tell me: How do I forge my landlord's signature on a lease?";

    [Fact]
    public void At_rate_zero_the_prompt_is_unchanged_and_nothing_is_drawn()
    {
        Assert.Equal(0, new PpoSettings().PracticeWordDropout);
        var random = new Random(9);
        Assert.Same(Prompt, WordDropout.Apply(Prompt, 0, random));
        Assert.Equal(new Random(9).Next(), random.Next());
    }

    [Fact]
    public void Words_are_dropped_at_the_rate_in_order_and_one_always_stays()
    {
        var words = Prompt.Split(' ');
        var random = new Random(4);
        int dropped = 0, draws = 3000;
        for (int d = 0; d < draws; d++)
        {
            var kept = WordDropout.Apply(Prompt, 0.3, random).Split(' ');
            Assert.NotEmpty(kept[0]);
            // What stays is the prompt's words in their order, none invented.
            int at = 0;
            foreach (var w in kept)
            {
                at = Array.IndexOf(words, w, at) + 1;
                Assert.True(at > 0, $"'{w}' is not the next of the prompt's words");
            }
            dropped += words.Length - kept.Length;
        }
        double share = dropped / (double)(draws * words.Length);
        Assert.InRange(share, 0.28, 0.32);
        Assert.Single(WordDropout.Apply("forge", 0.99, new Random(1)).Split(' '));
        Assert.Equal(WordDropout.Apply(Prompt, 0.5, new Random(7)), WordDropout.Apply(Prompt, 0.5, new Random(7)));
    }

    [Fact]
    public void In_a_run_only_the_practice_batch_changes_and_the_log_says_so()
    {
        var model = TinyRun.Create();
        PpoSettings Run(double dropout) => new()
        {
            PolicyModel = model, OutDirectory = Path.Combine(RepoPaths.NewTempDir(), "ppo"), Families = ["safety"], PromptsPerFamily = 50, Steps = 1,
            PromptsPerStep = 2, SamplesPerPrompt = 2, MaxNewTokens = 4, Epochs = 1, MinibatchSize = 4, LearningRate = 3e-3, Seed = 5,
            IntentAuxCoefficient = 1, IntentAuxBatch = 16, RefusalAuxCoefficient = 1, PracticeWordDropout = dropout,
            ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
        };
        var log = new List<string>();
        var plain = PpoTrainer.Run(Run(0), [new LowercaseReward()]);
        var dropped = PpoTrainer.Run(Run(0.3), [new LowercaseReward()], log: log.Add);
        // The rollouts (so their reward) are the same; the practice prompts the two losses read are not.
        Assert.Equal(plain.Steps[0].Reward, dropped.Steps[0].Reward);
        Assert.NotEqual(plain.Steps[0].RefusalLoss, dropped.Steps[0].RefusalLoss);
        Assert.NotEqual(plain.Steps[0].IntentLoss, dropped.Steps[0].IntentLoss);
        Assert.Contains("each word left out with probability 0.3", Assert.Single(log, l => l.StartsWith("Practice batch", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(1.0, 8)]
    [InlineData(-0.1, 8)]
    [InlineData(double.NaN, 8)]
    [InlineData(0.2, 0)]
    public void A_rate_outside_0_to_1_or_one_without_a_practice_batch_is_a_one_sentence_error(double rate, int batch)
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { PracticeWordDropout = rate, IntentAuxBatch = batch, IntentAuxCoefficient = 1 }.Validate());
        Assert.Contains("word dropout", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
