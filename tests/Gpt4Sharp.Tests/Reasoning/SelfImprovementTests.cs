using System.Globalization;
using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reasoning;

namespace Gpt4Sharp.Tests.Reasoning;

public class SelfImprovementTests
{
    /// <summary>
    /// A stand-in model whose replies depend only on the prompt and the seed: it computes chains
    /// correctly on some paths and is off by one on others, like a noisy reasoner.
    /// </summary>
    sealed class ScriptedSampler : IPathSampler
    {
        public IReadOnlyList<string> Sample(IReadOnlyList<ChatMessage> messages, int count, IReadOnlyList<double> temperatures, long seed)
        {
            var text = messages[^1].Content;
            var numbers = Regex.Matches(text, @"\d+").Select(m => long.Parse(m.Value, CultureInfo.InvariantCulture)).ToList();
            var truth = numbers.Sum();
            return Enumerable.Range(0, count).Select(k =>
            {
                var wrong = (k + seed + text.Length) % 4 == 0;
                var answer = wrong ? truth + 1 : truth;
                return $"Adding {string.Join(" + ", numbers)}{(wrong ? " (carelessly)" : "")}.\nanswer: {answer}";
            }).ToList();
        }

        public IReadOnlyList<string> Continue(string prefix, int count, double temperature, string stop, long seed) =>
            Enumerable.Range(0, count).Select(k => $" {k + seed} coins in a jar. How many coins are there?").ToList();
    }

    static readonly SelfImprovementOptions Options = new() { Samples = 8, ConfidenceThreshold = 0.6, MaxPathsPerQuestion = 2, Shots = 1, Seed = 3 };

    [Fact]
    public void Filter_keeps_only_confident_majority_paths_distinct_and_capped()
    {
        var q = new UnlabelledQuestion("q", "arithmetic", "What is 2 + 2?");
        string[] replies = ["a\nanswer: 4", "b\nanswer: 4", "a\nanswer: 4", "c\nanswer: 5", "d\nanswer: 4"];
        var kept = SelfImprovement.Filter(q, replies, replies.Select(r => AnswerExtraction.Extract("arithmetic", r)).ToList(), Options)!;
        Assert.Equal("4", kept.Answer);
        Assert.Equal(0.8, kept.Confidence);
        Assert.Equal(["a", "b"], kept.Paths);
        string[] later = ["b\nanswer: 4", "c\nanswer: 4", "a\nanswer: 4", "a\nanswer: 4", "c\nanswer: 4"];
        Assert.Equal(["c", "a"], SelfImprovement.Filter(q, later, later.Select(r => AnswerExtraction.Extract("arithmetic", r)).ToList(), Options)!.Paths); // most frequent first, ties by first seen
        string[] split = ["x\nanswer: 4", "y\nanswer: 5", "z\nanswer: 6"];
        Assert.Null(SelfImprovement.Filter(q, split, split.Select(r => AnswerExtraction.Extract("arithmetic", r)).ToList(), Options));
    }

    [Fact]
    public void Training_data_has_the_four_formats()
    {
        var voted = new[]
        {
            new VotedQuestion(new("a", "arithmetic", "What is 1 + 2?"), "3", 1, ["1 + 2 = 3"]),
            new VotedQuestion(new("b", "arithmetic", "What is 4 + 4?"), "8", 0.75, ["4 + 4 = 8", "4 and 4 make 8"]),
        };
        var data = SelfImprovement.BuildTrainingData(voted, Options);
        var byFormat = data.GroupBy(d => d.Format).ToDictionary(g => g.Key, g => g.Select(d => d.Example).ToList());
        Assert.Equal(3, byFormat[TrainingFormat.CotExemplars].Count);
        Assert.Equal(3, byFormat[TrainingFormat.StepByStep].Count);
        Assert.Equal(2, byFormat[TrainingFormat.DirectAnswer].Count);
        Assert.Equal(2, byFormat[TrainingFormat.PlainQuestion].Count);
        var cot = byFormat[TrainingFormat.CotExemplars].First(e => e.Messages[0].Content.EndsWith("What is 1 + 2?\nLet's think step by step."));
        Assert.StartsWith("Q: What is 4 + 4?\nA: 4 + 4 = 8\nanswer: 8", cot.Messages[0].Content);
        Assert.Equal("1 + 2 = 3\nanswer: 3", cot.Messages[1].Content);
        Assert.Contains(byFormat[TrainingFormat.PlainQuestion], e => e.Messages[0].Content == "What is 4 + 4?" && e.Messages[1].Content == "answer: 8");
        Assert.Contains(byFormat[TrainingFormat.DirectAnswer], e => e.Messages[0].Content == "What is 1 + 2?\nGive only the final answer." && e.Messages[1].Content == "answer: 3");
    }

    [Fact]
    public void Garbage_labels_give_byte_identical_training_data()
    {
        var items = ReasoningEvaluation.HeldOut("arithmetic", 11, 12).Select(i => i with { Split = Split.Train }).ToList();
        var garbage = items.Select((i, k) => i with { Answer = $"garbage{k}", Rationale = "nonsense", Response = "answer: -999" }).ToList();
        string Data(IEnumerable<CurriculumItem> source)
        {
            var questions = UnlabelledQuestion.From(source);
            var all = questions.Concat(QuestionAugmentation.Combined(questions, 4, seed: 2)).Concat(QuestionAugmentation.Generated(new ScriptedSampler(), questions, 3, seed: 2)).ToList();
            var voted = SelfImprovement.CollectPaths(new ScriptedSampler(), all, Options);
            Assert.NotEmpty(voted);
            return string.Join('\n', SelfImprovement.BuildTrainingData(voted, Options).Select(d => CurriculumJson.ToLine(d.Example)));
        }
        var clean = Data(items);
        Assert.Contains("answer:", clean);
        Assert.Equal(clean, Data(garbage));
        Assert.DoesNotContain("garbage", clean);
    }

    [Fact]
    public void Two_chains_or_two_word_problems_combine_into_a_longer_question()
    {
        var chain = QuestionAugmentation.Combine(new("a", "arithmetic", "What is 5 + 3?"), new("b", "arithmetic", "What is 10 - 4 + 2?"));
        Assert.Equal("What is 5 + 3 + 10 - 4 + 2?", chain!.Text);
        var word = QuestionAugmentation.Combine(
            new("a", "arithmetic", "Ana has 4 apples. Then Ana gets 2 more apples. How many apples does Ana have now?"),
            new("b", "arithmetic", "Ben has 9 coins. Then the number of coins doubles. Then Ben gives 3 coins to a friend. How many coins does Ben have now?"));
        Assert.Equal("Ana has 4 apples. Then Ana gets 2 more apples. Then the number of apples doubles. Then Ana gives 3 apples to a friend. How many apples does Ana have now?", word!.Text);
        Assert.Null(QuestionAugmentation.Combine(new("a", "arithmetic", "What is 5 + 3?"), word));
        Assert.Null(QuestionAugmentation.Combine(chain, chain, maxSteps: 6));
    }

    [Fact]
    public void Model_written_questions_are_new_and_end_in_a_question_mark()
    {
        var seeds = new List<UnlabelledQuestion> { new("a", "arithmetic", "Ana has 4 apples. How many apples does Ana have now?") };
        var made = QuestionAugmentation.Generated(new ScriptedSampler(), seeds, 3, seed: 1);
        Assert.Equal(3, made.Count);
        Assert.All(made, q => Assert.EndsWith("?", q.Text));
        Assert.Equal(made.Count, made.Select(q => q.Text).Distinct().Count());
    }

    [Fact]
    public void Round_questions_are_new_items_not_the_ones_the_recipe_fine_tuned_or_pretrained_on()
    {
        var recipe = new ReasoningModelSettings();
        var settings = new SelfImproveSettings { Family = recipe.Family, Questions = 300, MinSteps = 3, Seed = recipe.Seed };
        var round1 = SelfImprovementLoop.TrainingQuestions(settings, 1).ToList();
        var round2 = SelfImprovementLoop.TrainingQuestions(settings, 2).ToList();
        Assert.Equal(300, round1.Count);
        Assert.All(round1.Concat(round2), i => { Assert.Equal(Split.Train, i.Split); Assert.True(i.Difficulty >= 3); });
        Assert.Empty(round1.Select(i => i.Id).Intersect(round2.Select(i => i.Id)));
        // The fine-tuning items (solutions given) and the pretraining stream are other indices of the same stream.
        var sftIds = CurriculumRegistry.Get(recipe.Family).Generate(recipe.Seed, Split.Train, recipe.SftExamples).Select(i => i.Id).ToHashSet();
        Assert.DoesNotContain(round1, i => sftIds.Contains(i.Id));
        long pretrainEnd = (long)recipe.CorpusDocuments * 256; // Mixture draws item k from indices k * 256 + attempt
        Assert.All(round1, i => Assert.True(long.Parse(i.Id.Split(':')[^1], CultureInfo.InvariantCulture) >= pretrainEnd, i.Id));
        // Starting at index 0 (the old behaviour) the questions were the fine-tuning items themselves.
        Assert.Contains(SelfImprovementLoop.TrainingQuestions(settings with { FirstQuestion = 0 }, 1), i => sftIds.Contains(i.Id));
    }
}
