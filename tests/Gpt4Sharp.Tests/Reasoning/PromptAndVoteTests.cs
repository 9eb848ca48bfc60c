using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reasoning;

namespace Gpt4Sharp.Tests.Reasoning;

public class PromptAndVoteTests
{
    static readonly Exemplar Two = new("What is 1 + 1?", "1 + 1 = 2", "2");

    [Fact]
    public void Formats_render_instruction_and_exemplars_in_the_right_style()
    {
        Assert.Equal("Q?\nGive only the final answer.", ReasoningPrompts.UserMessage(PromptFormat.ZeroShot, "Q?"));
        Assert.Equal("Q?\nLet's think step by step.", ReasoningPrompts.UserMessage(PromptFormat.ZeroShotCot, "Q?"));
        Assert.Equal("Q: What is 1 + 1?\nA: answer: 2\n\nQ: Q?\nGive only the final answer.", ReasoningPrompts.UserMessage(PromptFormat.FewShot, "Q?", [Two]));
        Assert.Equal("Q: What is 1 + 1?\nA: 1 + 1 = 2\nanswer: 2\n\nQ: Q?\nLet's think step by step.", ReasoningPrompts.UserMessage(PromptFormat.FewShotCot, "Q?", [Two]));
        Assert.Throws<UserError>(() => ReasoningPrompts.UserMessage(PromptFormat.FewShot, "Q?"));
        Assert.Equal(PromptFormat.FewShotCot, ReasoningPrompts.Parse("Few-Shot-CoT"));
        Assert.Contains("zero-shot-cot", Assert.Throws<UserError>(() => ReasoningPrompts.Parse("tree-of-thought")).Message);
    }

    [Fact]
    public void Exemplars_come_only_from_the_training_split_and_repeat_per_question()
    {
        var pool = ExemplarPool.FromTraining("arithmetic", seed: 5, poolSize: 20, maxDifficulty: 2);
        var eval = ReasoningEvaluation.HeldOut("arithmetic", 5, 200);
        var trainPrompts = CurriculumRegistry.Get("arithmetic").Generate(5, Split.Train, 20 * 64).Select(i => i.Prompt).ToHashSet();
        var drawn = pool.Draw(3, eval[0].Id, seed: 9);
        Assert.Equal(3, drawn.Count);
        Assert.All(drawn, e => Assert.Contains(e.Question, trainPrompts));
        Assert.DoesNotContain(drawn, e => eval.Any(i => i.Prompt == e.Question));
        Assert.Equal(drawn, pool.Draw(3, eval[0].Id, seed: 9));
        Assert.Contains("training split", Assert.Throws<UserError>(() => new ExemplarPool([eval[0]])).Message);
    }

    [Theory]
    [InlineData("Step 1: 3 + 4 = 7.\nanswer: 1,200.", "1200")]
    [InlineData("answer: 12 apples", "12")]
    [InlineData("answer: 7.50", "7.5")]
    [InlineData("3 + 4 = 7 and then 7 - 2 = 5", "5")]
    [InlineData("answer: many", null)]
    [InlineData("answer: 3\nanswer: 4", null)]
    [InlineData("no numbers here", null)]
    public void Numeric_answers_are_extracted_without_a_label(string reply, string? expected) =>
        Assert.Equal(expected, AnswerExtraction.Extract("arithmetic", reply));

    [Fact]
    public void Other_families_need_an_answer_line_and_are_normalised()
    {
        Assert.Equal("paris", AnswerExtraction.Extract("knowledge", "I think so.\nAnswer:  Paris."));
        Assert.Null(AnswerExtraction.Extract("knowledge", "Paris 1889"));
    }

    [Fact]
    public void Correctness_uses_the_family_checker()
    {
        var item = ReasoningEvaluation.HeldOut("arithmetic", 3, 1)[0];
        Assert.True(AnswerExtraction.IsCorrect(item, item.Answer));
        Assert.False(AnswerExtraction.IsCorrect(item, item.Answer + "1"));
        Assert.False(AnswerExtraction.IsCorrect(item, null));
    }

    [Fact]
    public void Vote_takes_the_majority_and_confidence_is_its_share_of_all_paths()
    {
        var vote = SelfConsistency.Vote(["4", "5", "4", null, "4", "5", null, "6"]);
        Assert.Equal("4", vote.Answer);
        Assert.Equal(3, vote.Votes);
        Assert.Equal(3.0 / 8, vote.Confidence);
        Assert.Equal(["4", "5", "6"], vote.Counts.Select(c => c.Key));
        Assert.Equal("5", SelfConsistency.Vote(["5", "4", "4", "5"]).Answer); // tie: first seen wins
        Assert.Null(SelfConsistency.Vote([null, null]).Answer);
        Assert.Equal(0, SelfConsistency.Vote([null, null]).Confidence);
    }

    [Fact]
    public void Accuracy_curve_points_double_up_to_m()
    {
        Assert.Equal([1, 2, 4, 8, 16], ReasoningEvaluation.SampleCounts(16));
        Assert.Equal([1, 2, 4, 5], ReasoningEvaluation.SampleCounts(5));
        Assert.Equal([1], ReasoningEvaluation.SampleCounts(1));
    }

    [Fact]
    public void Emergence_sizes_parse_or_fail_with_the_fix()
    {
        Assert.Equal([new ModelSize(32, 1), new ModelSize(64, 2)], Emergence.ParseSizes("32x1, 64x2"));
        Assert.Contains("64x2", Assert.Throws<UserError>(() => Emergence.ParseSizes("50x2")).Message);
    }
}
