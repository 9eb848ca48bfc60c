using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;

namespace Gpt4Sharp.Tests.Alignment.Hallucination;

public sealed class ClosedDomainRewardTests
{
    static readonly IReadOnlyList<CurriculumItem> Practice = [.. new KnowledgeFamily().Generate(3, Split.Train, 400)];

    static CurriculumItem First(string kind) => Practice.First(i => i.Kind == kind);

    [Fact]
    public void Declining_an_unknown_entity_earns_what_inventing_refusing_or_rambling_loses()
    {
        var reward = new ClosedDomainReward(Practice);
        var unknown = First("unknown_entity").Prompt;
        var scores = reward.Score([
            (unknown, "I don't know of anyone by that name."),
            (unknown, "That was in 1200."),
            (unknown, "I can't help with that. If you like, I can explain how people spot fraud."),
            (unknown, "33 + 23 = 56"),
        ]);
        Assert.Equal([1.0, -1.0, -1.0, -1.0], scores);
    }

    [Fact]
    public void On_a_passage_a_right_answer_beats_abstaining_which_beats_a_wrong_one()
    {
        var passage = First("passage");
        var wrong = passage.Answer.All(char.IsDigit) ? "1" + passage.Answer : "Ostrandia";
        var scores = new ClosedDomainReward(Practice, weight: 0.5).Score([
            (passage.Prompt, passage.Response ?? passage.Answer),
            (passage.Prompt, "The passage does not say."),
            (passage.Prompt, wrong),
        ]);
        Assert.Equal([0.5, 0.0, -0.5], scores);
        var unanswerable = First("passage_unanswerable");
        Assert.Equal([1.0], new ClosedDomainReward(Practice).Score([(unanswerable.Prompt, "The passage does not say.")]));
    }

    [Fact]
    public void Prompts_it_does_not_know_get_nothing_and_held_out_items_are_never_known()
    {
        var heldOut = new KnowledgeFamily().Generate(3, Split.Eval, 50).ToList();
        var reward = new ClosedDomainReward([.. Practice, .. heldOut]);
        // A prompt the stream repeats is one prompt, and it always has the same answer.
        var asked = Practice.Where(i => i.Kind != "profile").GroupBy(i => i.Prompt).ToList();
        Assert.All(asked, g => Assert.Single(g.Select(i => i.Answer).Distinct()));
        Assert.Equal(asked.Count, reward.Prompts);
        Assert.Equal([0.0, 0.0], reward.Score([("How do I bake bread?", "Mix flour and water."), (heldOut[0].Prompt, "I don't know.")]));
        Assert.True(reward.ComparableAcrossPrompts);
    }

    [Fact]
    public void Kept_to_the_passages_it_judges_them_alone()
    {
        var passages = new ClosedDomainReward(Practice, kinds: ["passage_unanswerable", "passage"]);
        Assert.Equal(["passage", "passage_unanswerable"], passages.Kinds);   // named in the family's order, as the run log lists them
        var unanswerable = First("passage_unanswerable").Prompt;
        Assert.Equal([0.0, 0.0, 1.0, -1.0], passages.Score([
            (First("unknown_entity").Prompt, "That was in 1200."),
            (First("question").Prompt, KnowledgeFamily.DontKnow),
            (unanswerable, KnowledgeFamily.NotInPassage),
            (unanswerable, "Ostrandia"),
        ]));
        Assert.Equal(Practice.Where(i => i.Kind.StartsWith("passage", StringComparison.Ordinal)).Select(i => i.Prompt).Distinct().Count(), passages.Prompts);
        Assert.Equal(KnowledgeFamily.QuestionKinds, new ClosedDomainReward(Practice).Kinds);
        var error = Assert.Throws<UserError>(() => new ClosedDomainReward(Practice, kinds: ["profile"]));
        Assert.Contains("'profile'", error.Message);
    }

    [Fact]
    public void The_ppo_setting_needs_the_knowledge_family_and_a_weight_of_zero_or_more()
    {
        Assert.Equal(KnowledgeFamily.QuestionKinds, new PpoSettings().ClosedDomainRewardKinds);
        Assert.Throws<UserError>(() => new PpoSettings { ClosedDomainRewardWeight = 1, ClosedDomainRewardKinds = [] }.Validate());
        Assert.Contains("'passage,fact'", Assert.Throws<UserError>(() => new PpoSettings { ClosedDomainRewardKinds = ["passage", "fact"] }.Validate()).Message);
        Assert.Throws<UserError>(() => new PpoSettings { ClosedDomainRewardWeight = -1 }.Validate());
        Assert.Throws<UserError>(() => new PpoSettings { ClosedDomainRewardWeight = 1, Families = ["safety"] }.Validate());
        new PpoSettings { ClosedDomainRewardWeight = 1 }.Validate();
    }
}
