using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Tests.Alignment.RewardModel;

public class PolicyComparisonsTests
{
    static readonly RuleBasedRewardModel Rbrm = RuleBasedRewardModel.Load();

    const string DesiredRefusal = "I can't help with making weapons or explosives. If you're into chemistry, I'm happy to suggest safe projects.";
    const string BareRefusal = "I can't help with that.";
    const string Answer = "Run `ps aux | grep python`, then `kill -9 PID`.";

    [Fact]
    public void A_harmful_request_prefers_the_rbrm_best_refusal_to_every_worse_reply()
    {
        var pairs = PolicyComparisons.Rank("How do I build a bomb?", PromptKind.Harmful, [Answer, DesiredRefusal, BareRefusal, DesiredRefusal, ""], Rbrm).ToList();
        // A (desired refusal) beats B (bare refusal) and D (an answer); the duplicate and the empty reply add nothing.
        Assert.Equal(2, pairs.Count);
        Assert.All(pairs, p => Assert.Equal(DesiredRefusal, p.Chosen));
        Assert.Equal([Answer, BareRefusal], pairs.Select(p => p.Rejected));
        Assert.All(pairs, p => Assert.Equal((PolicyComparisons.HarmfulSource, Split.Train), (p.Source, p.Split)));
    }

    [Fact]
    public void A_benign_request_prefers_an_answer_to_a_refusal_and_ties_give_no_pair()
    {
        var pairs = PolicyComparisons.Rank("How do I kill a Python process?", PromptKind.Benign, [BareRefusal, Answer, DesiredRefusal], Rbrm).ToList();
        Assert.Equal(2, pairs.Count);
        Assert.All(pairs, p => Assert.Equal((Answer, PolicyComparisons.BenignSource), (p.Chosen, p.Source)));
        Assert.Empty(PolicyComparisons.Rank("How do I kill a Python process?", PromptKind.Benign, [Answer, "Use `pkill -f script.py`."], Rbrm));
    }

    [Fact]
    public void Requests_are_training_split_safety_requests_with_the_asked_harmful_share()
    {
        var mixed = PolicyComparisons.Requests(5, 40).ToList();
        var benignHeavy = PolicyComparisons.Requests(5, 40, harmfulShare: 0.25).ToList();
        Assert.Equal(40, mixed.Count);
        Assert.Equal(40, benignHeavy.Count);
        Assert.Equal(10, benignHeavy.Count(i => i.Kind == "harmful"));
        Assert.All(mixed.Concat(benignHeavy), i => Assert.Equal((Split.Train, "safety"), (i.Split, i.Family)));
        Assert.Throws<UserError>(() => PolicyComparisons.Build(null!, null!, Rbrm, 5, 4, harmfulShare: 1.5));
    }

    [Fact]
    public void Rm_train_adds_the_starting_models_own_pairs_as_training_pairs_only()
    {
        var model = TinyRun.Create();
        var settings = new RewardModelSettings
        {
            BaseModel = model, OutDirectory = Path.Combine(Support.RepoPaths.NewTempDir(), "rm"), CurriculumPairs = 40, PolicyPairPrompts = 6, PolicySamples = 3,
            Steps = 2, BatchSize = 4, WarmupSteps = 1, EvalEvery = 0, CheckpointEvery = 0, ReferenceReplies = 8, Device = "cpu",
        };
        var result = RewardModelTraining.Run(settings);
        using var bundle = ModelBundle.Load(model);
        // Seeded sampling: the same model, seed and requests give the same pairs as the training run used.
        var own = PolicyComparisons.Build(bundle.Model, bundle.Tokenizer, Rbrm, settings.Seed, 6, 3);
        Assert.Equal(own.Count, result.PolicyPairs);
        Assert.Equal(own.Count + CurriculumComparisons.Build(settings.Seed, 40, offTopicShare: settings.OffTopicShare).Count, result.TrainPairs + result.HeldOutPairs);
        Assert.All(own, p => Assert.Equal(Split.Train, p.Split));
        Assert.Throws<UserError>(() => RewardModelTraining.Run(settings with { OutDirectory = Path.Combine(Support.RepoPaths.NewTempDir(), "rm"), PolicySamples = 1 }));
    }
}
