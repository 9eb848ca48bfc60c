using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.DeclineAuxCoefficient: a cross-entropy on the reply opening like a decline on the benign knowledge practice prompts, off by default.</summary>
public class DeclineAuxLossTests
{
    // One update per step (4 rollouts, a minibatch of 4, one epoch), so a step's auxiliary losses are read before any weight moves.
    static PpoSettings Tiny(string model, double decline) => new()
    {
        PolicyModel = model, OutDirectory = Path.Combine(RepoPaths.NewTempDir(), "ppo"), Families = ["safety", "knowledge"], PromptsPerFamily = 60,
        Steps = 2, PromptsPerStep = 2, SamplesPerPrompt = 2, MaxNewTokens = 4, Epochs = 1, MinibatchSize = 4, LearningRate = 3e-3, Seed = 5,
        IntentAuxCoefficient = 1, RefusalAuxCoefficient = 1, IntentAuxBatch = 16, PracticeBatchByGroup = true, BenignPracticeBatch = 8,
        DeclineAuxCoefficient = decline, ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
    };

    [Fact]
    public void Openings_open_the_knowledge_curriculums_declines_and_none_of_its_answers()
    {
        using var bundle = ModelBundle.Load(TinyRun.Create());
        var tokenizer = bundle.Tokenizer;
        var items = PpoTrainer.PracticeItems("knowledge", 5, 300).ToList();
        var openings = ReplyOpenings.Declines(tokenizer, items);

        (int, int) Opening(string reply) { var ids = tokenizer.Encode(reply, allowSpecial: false); return (ids[0], ids[1]); }
        var declining = items.Where(ReplyOpenings.Declines).ToList();
        Assert.Contains(declining, i => i.Kind == "unknown_entity");
        Assert.Contains(declining, i => i.Kind == "passage_unanswerable");
        Assert.All(declining, i => Assert.Contains(Opening(i.Response), openings.Pairs));
        Assert.DoesNotContain(items.Where(i => !ReplyOpenings.Declines(i)).Select(i => Opening(i.Response)), openings.Pairs.Contains);
        Assert.Contains(Opening(KnowledgeFamily.NotInPassage), openings.Pairs);
        // The decline loss's labels: whether the curriculum's reply opens like a decline.
        Assert.All(declining, i => Assert.True(openings.Opens(tokenizer, i.Response), i.Response));
        Assert.DoesNotContain(items.Where(i => !ReplyOpenings.Declines(i)), i => openings.Opens(tokenizer, i.Response));

        var error = Assert.Throws<UserError>(() => ReplyOpenings.Declines(tokenizer, items.Where(i => !ReplyOpenings.Declines(i))));
        Assert.Contains("--decline-aux", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void In_a_run_it_is_logged_and_leaves_the_rollouts_and_the_other_losses_first_readings_unchanged()
    {
        Assert.Equal(0, new PpoSettings().DeclineAuxCoefficient);
        var model = TinyRun.Create();
        var plainSettings = Tiny(model, 0);
        var plain = PpoTrainer.Run(plainSettings, [new LowercaseReward()]);
        Assert.All(plain.Steps, m => Assert.Null(m.DeclineLoss));
        Assert.All(PpoRunFiles.Steps(plainSettings.OutDirectory!), s => Assert.False(s!.AsObject().ContainsKey("loss/decline")));

        var settings = Tiny(model, 1.0);
        var log = new List<string>();
        var result = PpoTrainer.Run(settings, [new LowercaseReward()], log: log.Add);
        Assert.All(result.Steps, m => Assert.True(m.DeclineLoss is > 0 and < 20 && m.DeclineAccuracy is >= 0 and <= 1, $"{m.DeclineLoss}"));
        Assert.Equal(result.Steps.Select(m => m.DeclineLoss!.Value), PpoRunFiles.Steps(settings.OutDirectory!).Select(s => s!["loss/decline"]!.GetValue<double>()));
        // The prompts are also read after the declines' other first token ("The"), but the refusal readings are picked out unchanged.
        Assert.Equal(plain.Steps[0].Reward, result.Steps[0].Reward);
        Assert.Equal(plain.Steps[0].RefusalLoss, result.Steps[0].RefusalLoss);
        Assert.Equal(plain.Steps[0].IntentLoss, result.Steps[0].IntentLoss);
        Assert.NotEqual(plain.Steps[1].RefusalLoss, result.Steps[1].RefusalLoss);
        Assert.Matches(@"^Decline-decision loss \(weight 1\) on replies opening '.+', 'The.*where the curriculum's reply does; \d+ knowledge practice prompts do\.$",
            Assert.Single(log, l => l.StartsWith("Decline-decision", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_loss_trains_the_decline_up_where_the_world_has_no_answer_and_down_where_it_has_one()
    {
        var settings = Tiny(TinyRun.Create(), 1.0) with { Steps = 80, IntentAuxCoefficient = 0, IntentAuxBatch = 4, DeclineAuxCoefficient = 4 };
        var result = PpoTrainer.Run(settings, [new LowercaseReward()]);
        // Half of the drawn prompts decline: below chance's ln 2 only by telling which (here, the few dozen practice prompts, learnt by heart).
        double early = result.Steps.Take(8).Average(m => m.DeclineLoss!.Value), late = result.Steps.TakeLast(8).Average(m => m.DeclineLoss!.Value);
        Assert.True(late < Math.Min(early, Math.Log(2)), string.Join(", ", result.Steps.Select(m => m.DeclineLoss)));
    }

    [Fact]
    public void Without_the_knowledge_family_it_is_a_one_sentence_error()
    {
        var settings = Tiny(TinyRun.Create(), 1.0) with { Families = ["safety", "arithmetic"] };
        var error = Assert.Throws<UserError>(() => PpoTrainer.Run(settings, [new LowercaseReward()]));
        Assert.Contains("--decline-aux", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(-1, 8)]
    [InlineData(double.NaN, 8)]
    [InlineData(1, 0)]
    public void A_negative_weight_or_one_without_the_benign_practice_batch_is_a_one_sentence_error(double weight, int benign)
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings
            { DeclineAuxCoefficient = weight, BenignPracticeBatch = benign, IntentAuxBatch = 16, IntentAuxCoefficient = 1, RefusalAuxCoefficient = 1 }.Validate());
        Assert.Contains("decline-decision", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
