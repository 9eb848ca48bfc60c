using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

/// <summary>PpoSettings.RefusalAuxCoefficient: a cross-entropy on the reply opening like a refusal (its first two tokens), off by default.</summary>
public class RefusalAuxLossTests
{
    static PpoSettings Tiny(string model, string outDir, double coefficient) => new()
    {
        PolicyModel = model, OutDirectory = outDir, Families = ["safety"], PromptsPerFamily = 50, Steps = 8, PromptsPerStep = 2, SamplesPerPrompt = 2,
        MaxNewTokens = 4, Epochs = 2, MinibatchSize = 4, LearningRate = 3e-3, Seed = 5, RefusalAuxCoefficient = coefficient, IntentAuxBatch = coefficient > 0 ? 16 : 0,
        ProbeSafetyPrompts = 0, ProbePassagePrompts = 0, ProbeRedTeamRequests = 0, Device = "cpu",
    };

    [Fact]
    public void The_refusal_probability_sums_its_openings_and_the_loss_is_its_cross_entropy()
    {
        // Four tokens; the openings are (1, 2) and (1, 3). Prompt 0: uniform everywhere, so p = 1/4 · 2/4.
        // Prompt 1: token 1 leads at the tag and token 0 after it, so greedy decoding does not open a refusal.
        var openings = ReplyOpenings.Of([(1, 3), (1, 2), (1, 2)]);
        Assert.Equal([1], openings.FirstTokens);
        Assert.Equal([(1, 2), (1, 3)], openings.Pairs);
        using var logits = torch.tensor(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, /* prompt 1 */ 0, 2, 0, 0, 1, 0, 0, 0 }, [2, 1, 2, 4]);
        var logP = openings.LogProbability(logits).data<float>().ToArray();
        double e = Math.E, p1 = e * e / (e * e + 3) * (2 / (e + 3));
        Assert.Equal(Math.Log(0.125), logP[0], 5);
        Assert.Equal(Math.Log(p1), logP[1], 5);
        Assert.Equal([false, false], openings.GreedyOpens(logits));
        using var refusing = torch.tensor(new float[] { 0, 2, 0, 0, 0, 0, 0, 3 }, [1, 1, 2, 4]);
        Assert.Equal([true], openings.GreedyOpens(refusing));

        using var logProbability = torch.tensor(new float[] { (float)Math.Log(0.125), (float)Math.Log(p1) });
        Assert.Equal((-Math.Log(0.125) - Math.Log(p1)) / 2, ReplyOpenings.DecisionLoss(logProbability, torch.tensor(new float[] { 1, 1 })).item<float>(), 4);
        Assert.Equal((-Math.Log(0.875) - Math.Log(1 - p1)) / 2, ReplyOpenings.DecisionLoss(logProbability, torch.tensor(new float[] { 0, 0 })).item<float>(), 4);
        // A certain refusal stays finite for a benign label.
        Assert.True(float.IsFinite(ReplyOpenings.DecisionLoss(torch.tensor(new float[] { 0 }), torch.tensor(new float[] { 0 })).item<float>()));
    }

    [Fact]
    public void Openings_open_the_curriculums_refusals_and_none_of_its_helpful_answers()
    {
        var model = TinyRun.Create();
        using var bundle = ModelBundle.Load(model);
        var items = CurriculumRegistry.Get("safety").Generate(5, Split.Train, 200).ToList();
        var openings = ReplyOpenings.Refusals(bundle.Tokenizer, items);

        (int, int) Opening(CurriculumItem item) { var ids = bundle.Tokenizer.Encode(item.Response, allowSpecial: false); return (ids[0], ids[1]); }
        Assert.DoesNotContain(items.Where(i => i.Kind == "benign").Select(Opening), openings.Pairs.Contains);
        // Most refusals open with one of them ("I can't ...", "I'm sorry ..."), so the decision it trains is the one the probe reads.
        var harmful = items.Where(i => i.Kind == "harmful").ToList();
        Assert.True(harmful.Count(i => openings.Pairs.Contains(Opening(i))) > harmful.Count / 2);
        var error = Assert.Throws<UserError>(() => ReplyOpenings.Refusals(bundle.Tokenizer, items.Where(i => i.Kind == "benign")));
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Off_by_default_nothing_is_logged()
    {
        Assert.Equal(0, new PpoSettings().RefusalAuxCoefficient);
        var outDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var result = PpoTrainer.Run(Tiny(TinyRun.Create(), outDir, 0) with { Steps = 2 }, [new LowercaseReward()]);
        Assert.All(result.Steps, m => Assert.Null(m.RefusalLoss));
        Assert.All(PpoRunFiles.Steps(outDir), s => Assert.False(s!.AsObject().ContainsKey("loss/refusal")));
    }

    [Fact]
    public void With_a_practice_batch_the_decision_is_learnt_and_the_saved_policy_is_a_plain_run()
    {
        var model = TinyRun.Create();
        var outDir = Path.Combine(RepoPaths.NewTempDir(), "ppo");
        var result = PpoTrainer.Run(Tiny(model, outDir, 1.0) with { Steps = 60 }, [new LowercaseReward()]);

        Assert.All(result.Steps, m => Assert.True(m.RefusalLoss is > 0 and < 20 && m.RefusalAccuracy is >= 0 and <= 1, $"{m.RefusalLoss}"));
        Assert.All(result.Steps, m => Assert.Null(m.IntentLoss));
        // New prompts every update: the loss can only fall below chance's ln 2 by reading the requests' intent.
        double early = result.Steps.Take(6).Average(m => m.RefusalLoss!.Value), late = result.Steps.TakeLast(6).Average(m => m.RefusalLoss!.Value);
        Assert.True(late < Math.Min(early, Math.Log(2)), string.Join(", ", result.Steps.Select(m => m.RefusalLoss)));
        Assert.True(result.Steps.TakeLast(6).Average(m => m.RefusalAccuracy!.Value) > 0.5, string.Join(", ", result.Steps.Select(m => m.RefusalAccuracy)));
        Assert.Equal(result.Steps.Select(m => m.RefusalLoss!.Value), PpoRunFiles.Steps(outDir).Select(s => s!["loss/refusal"]!.GetValue<double>()));

        // The loss adds no head: the saved policy has exactly the language model's tensors.
        using var bundle = ModelBundle.Load(outDir);
        using var fresh = new Gpt4Sharp.Model.GptModel(TinyRun.Config);
        Assert.Equal(fresh.state_dict().Keys.Order(), bundle.Model.state_dict().Keys.Order());
    }

    [Fact]
    public void Without_the_safety_family_it_is_a_one_sentence_error()
    {
        var settings = Tiny(TinyRun.Create(), Path.Combine(RepoPaths.NewTempDir(), "ppo"), 1.0) with { Families = ["knowledge"] };
        var error = Assert.Throws<UserError>(() => PpoTrainer.Run(settings, [new LowercaseReward()]));
        Assert.Contains("--refusal-aux", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_non_finite_weight_is_a_one_sentence_error(double coefficient)
    {
        var error = Assert.Throws<UserError>(() => new PpoSettings { RefusalAuxCoefficient = coefficient }.Validate());
        Assert.Contains("refusal-decision loss", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void The_loss_needs_the_practice_batch_and_may_be_fed_by_it_alone()
    {
        Assert.Equal(8, new PpoSettings { IntentAuxBatch = 8, RefusalAuxCoefficient = 0.5 }.Validate().IntentAuxBatch);
        var error = Assert.Throws<UserError>(() => new PpoSettings { RefusalAuxCoefficient = 0.5 }.Validate());
        Assert.Contains("--intent-aux-batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
