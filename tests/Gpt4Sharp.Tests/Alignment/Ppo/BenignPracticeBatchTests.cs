using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.BenignPracticeBatch: knowledge practice prompts added to the refusal-decision loss's practice batch as benign, off by default.</summary>
public class BenignPracticeBatchTests
{
    static PpoSettings Settings(int benign) => new()
    {
        Families = ["safety", "knowledge"], PromptsPerFamily = 60, Steps = 1, PromptsPerStep = 2, SamplesPerPrompt = 2, MaxNewTokens = 4,
        Epochs = 1, MinibatchSize = 4, LearningRate = 3e-3, Seed = 5, IntentAuxCoefficient = 1, RefusalAuxCoefficient = 1, IntentAuxBatch = 16, PracticeBatchByGroup = true,
        BenignPracticeBatch = benign, ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
    };

    static PpoTrainer Trainer(PpoSettings settings) => TinyPpoTrainer.Create(settings);

    [Fact]
    public void Benign_prompts_come_after_the_safety_draws_from_every_unlabelled_group_and_leave_those_draws_unchanged()
    {
        Assert.Equal(0, new PpoSettings().BenignPracticeBatch);
        using var plain = Trainer(Settings(0));
        using var withBenign = Trainer(Settings(8));
        var unlabelled = withBenign.Strata.Where(s => s.Harmful is null).ToList();
        Assert.Equal(["knowledge/passage", "knowledge/passage_unanswerable", "knowledge/question", "knowledge/unknown_entity"], unlabelled.Select(s => s.Name));
        var drawnFrom = new Dictionary<string, int>();
        for (int update = 0; update < 50; update++)
        {
            var before = plain.PracticeBatch(3, update);
            var batch = withBenign.PracticeBatch(3, update);
            Assert.Equal(16, before.Count);
            Assert.Equal(24, batch.Count);
            Assert.Equal(before, batch.Take(16));
            foreach (var (prompt, harmful) in batch.Skip(16))
            {
                Assert.False(harmful);
                var group = Assert.Single(unlabelled, s => s.Prompts.Contains(prompt));
                drawnFrom[group.Name] = drawnFrom.GetValueOrDefault(group.Name) + 1;
            }
        }
        // Four groups with equal shares of the rollouts: 400 draws, about 100 each.
        Assert.Equal(4, drawnFrom.Count);
        Assert.All(drawnFrom.Values, n => Assert.InRange(n, 60, 140));
    }

    [Fact]
    public void Benign_prompts_train_only_the_choice_after_the_first_token_so_a_decline_opening_with_it_is_left_alone()
    {
        using var scope = torch.NewDisposeScope();
        // Four tokens; the openings are (1, 2) and (1, 3). Prompt 0 is uniform; prompt 1 leads with token 1 at the tag and token 0 after it.
        var openings = ReplyOpenings.Of([(1, 2), (1, 3)]);
        var values = new float[] { 0, 0, 0, 0, 0, 0, 0, 0, /* prompt 1 */ 0, 2, 0, 0, 1, 0, 0, 0 };
        var conditional = openings.ConditionalLogProbability(torch.tensor(values, [2, 1, 2, 4]));
        Assert.Equal(Math.Log(0.5), conditional[0].item<float>(), 5);
        Assert.Equal(Math.Log(2 / (Math.E + 3)), conditional[1].item<float>(), 5);

        // A safety prompt (row 0) and a benign knowledge prompt (row 1): the loss reaches row 0's first token, never row 1's.
        var logits = torch.tensor(values, [2, 1, 2, 4]).requires_grad_(true);
        var labels = torch.tensor(new float[] { 1, 0 });
        var loss = ReplyOpenings.DecisionLoss(PpoTrainer.PracticeLogProbability(openings, logits, safetyRows: 1), labels);
        loss.backward();
        var grad = logits.grad!.data<float>().ToArray();
        Assert.Contains(grad[0..4], g => Math.Abs(g) > 1e-4);      // row 0, at the tag
        Assert.All(grad[8..12], g => Assert.Equal(0, g, 6));         // row 1, at the tag: the first token is not moved
        Assert.Contains(grad[12..16], g => Math.Abs(g) > 1e-4);    // row 1, after the first token: refusal against the rest
        // Without benign rows it is the whole opening's probability.
        var whole = PpoTrainer.PracticeLogProbability(openings, torch.tensor(values, [2, 1, 2, 4]), safetyRows: 2);
        Assert.Equal(Math.Log(0.125), whole[0].item<float>(), 5);
    }

    [Fact]
    public void In_a_run_the_rollouts_and_the_intent_loss_are_unchanged_the_refusal_loss_reads_more_and_the_log_names_the_groups()
    {
        var model = TinyRun.Create();
        PpoSettings For(int benign) => Settings(benign) with
            { PolicyModel = model, OutDirectory = Path.Combine(RepoPaths.NewTempDir(), "ppo") };
        var log = new List<string>();
        var plain = PpoTrainer.Run(For(0), [new LowercaseReward()]);
        var result = PpoTrainer.Run(For(8), [new LowercaseReward()], log: log.Add);
        Assert.Equal(plain.Steps[0].Reward, result.Steps[0].Reward);
        Assert.NotEqual(plain.Steps[0].RefusalLoss, result.Steps[0].RefusalLoss);
        // The intent head reads the safety prompts alone, so within the first update (before the refusal loss has moved the
        // shared trunk) its loss is the plain run's; after it, the two runs' weights differ.
        Assert.Equal(plain.Steps[0].IntentLoss, result.Steps[0].IntentLoss);
        Assert.Matches(@"and 8 benign prompts without safety labels, by group: knowledge/passage [\d,]+ prompts \(25 ?%", Assert.Single(log, l => l.StartsWith("Practice batch", StringComparison.Ordinal)));
    }

    [Fact]
    public void Without_a_family_lacking_safety_labels_it_is_a_one_sentence_error()
    {
        var error = Assert.Throws<UserError>(() => Trainer(Settings(4) with { Families = ["safety"] }));
        Assert.Contains("--benign-practice-batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(-1, 16)]
    [InlineData(4, 0)]
    [InlineData(4, 16, 0)]
    public void A_negative_size_or_one_without_the_refusal_decision_loss_and_its_batch_is_a_one_sentence_error(int benign, int batch, double refusal = 1)
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { BenignPracticeBatch = benign, IntentAuxBatch = batch, IntentAuxCoefficient = 1, RefusalAuxCoefficient = refusal }.Validate());
        Assert.Contains("benign practice batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
