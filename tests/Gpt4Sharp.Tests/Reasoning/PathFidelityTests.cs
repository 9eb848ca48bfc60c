using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>
/// The label-free faithful-paths filter (an extension of Huang et al. 2022): a path must work the
/// question's own operations in order; it reads the question only.
/// </summary>
public class PathFidelityTests
{
    /// <summary>
    /// A stand-in reasoner for one-digit chains: on three paths of four it loses its place at the
    /// last step and repeats the operand before (the small models' commonest error), on the
    /// fourth it works the question faithfully. The arithmetic is always right.
    /// </summary>
    sealed class PlaceLosingSampler : IPathSampler
    {
        public IReadOnlyList<string> Sample(IReadOnlyList<ChatMessage> messages, int count, IReadOnlyList<double> temperatures, long seed)
        {
            var question = Regex.Match(messages[^1].Content, @"What is [^?]*\?").Value;
            List<int> terms = [int.Parse(Regex.Match(question, @"\d+").Value), .. Regex.Matches(question, @"([+-]) (\d+)").Select(m => (m.Groups[1].Value == "-" ? -1 : 1) * int.Parse(m.Groups[2].Value))];
            return Enumerable.Range(0, count).Select(k =>
            {
                var worked = k % 4 == 3 || terms.Count < 3 ? terms : [.. terms[..^1], terms[^2]];
                var lines = new List<string>();
                int total = worked[0];
                foreach (var t in worked.Skip(1))
                {
                    lines.Add($"{total} {(t < 0 ? '-' : '+')} {Math.Abs(t)} = {total + t}");
                    total += t;
                }
                return $"{string.Join('\n', lines)}\nanswer: {total}";
            }).ToList();
        }

        public IReadOnlyList<string> Continue(string prefix, int count, double temperature, string stop, long seed) => throw new NotSupportedException();
    }

    [Fact]
    public void Every_gold_solution_follows_its_question_in_both_chain_families()
    {
        foreach (var family in PathFidelity.Families)
        {
            var source = CurriculumRegistry.Get(family);
            foreach (var item in source.Generate(4, Split.Train, 300).Concat(source.Generate(4, Split.Eval, 100)))
                Assert.True(PathFidelity.FollowsQuestion(item.Prompt, item.Rationale!), $"{item.Prompt}\n{item.Rationale}");
        }
    }

    [Fact]
    public void Lost_places_fail_and_wrong_arithmetic_alone_does_not()
    {
        const string q = "What is 9 + 4 + 3 - 5?";
        Assert.True(PathFidelity.FollowsQuestion(q, "9 + 4 = 13\n13 + 3 = 16\n16 - 5 = 11"));
        Assert.True(PathFidelity.FollowsQuestion(q, "9 + 4 = 9 + 1 + 3 = 13\n13 + 3 = 16\n16 - 5 = 11")); // through ten
        Assert.False(PathFidelity.FollowsQuestion(q, "9 + 4 = 13\n13 + 3 = 16\n16 + 3 = 19")); // the repeated operand
        Assert.False(PathFidelity.FollowsQuestion(q, "9 + 4 = 13\n13 + 3 = 16\n16 - 3 = 13")); // right sign, wrong operand
        Assert.False(PathFidelity.FollowsQuestion(q, "9 + 4 = 13\n13 + 3 = 16\n17 - 5 = 12")); // a total not carried over
        Assert.False(PathFidelity.FollowsQuestion(q, "9 + 4 = 13\n13 + 3 = 16")); // a step missing
        Assert.False(PathFidelity.FollowsQuestion(q, "4 + 9 = 13\n13 + 3 = 16\n16 - 5 = 11")); // not the question's order
        Assert.False(PathFidelity.FollowsQuestion("What is the capital of France?", "Paris"));
        // It checks the place in the question, not the sums: a wrong fact on the right operands passes.
        Assert.True(PathFidelity.FollowsQuestion(q, "9 + 4 = 14\n14 + 3 = 17\n17 - 5 = 12"));
    }

    [Fact]
    public void Only_faithful_paths_vote_and_confidence_stays_a_share_of_all_m()
    {
        var q = new UnlabelledQuestion("q", "ten-chains", "What is 9 + 4 + 3 - 5?");
        string[] replies = ["9 + 4 = 13\n13 + 3 = 16\n16 + 3 = 19\nanswer: 19", "9 + 4 = 13\n13 + 3 = 16\n16 + 3 = 19\nanswer: 19",
            "9 + 4 = 13\n13 + 3 = 16\n16 - 5 = 11\nanswer: 11", "9 + 4 = 9 + 1 + 3 = 13\n13 + 3 = 16\n16 - 5 = 11\nanswer: 11", "9 + 4 = 13\n13 + 3 = 16\n16 + 3 = 19\nanswer: 19"];
        var answers = replies.Select(r => AnswerExtraction.Extract("ten-chains", r)).ToList();
        var options = new SelfImprovementOptions { Samples = 5, ConfidenceThreshold = 0.4, MaxPathsPerQuestion = 4 };
        Assert.Equal("19", SelfImprovement.Filter(q, replies, answers, options)!.Answer); // the vote alone keeps the shared error
        var faithful = SelfImprovement.Filter(q, replies, answers, options with { FaithfulPathsOnly = true })!;
        Assert.Equal("11", faithful.Answer);
        Assert.Equal(0.4, faithful.Confidence);
        Assert.Equal(["9 + 4 = 13\n13 + 3 = 16\n16 - 5 = 11", "9 + 4 = 9 + 1 + 3 = 13\n13 + 3 = 16\n16 - 5 = 11"], faithful.Paths);
        Assert.Null(SelfImprovement.Filter(q, replies, answers, options with { FaithfulPathsOnly = true, ConfidenceThreshold = 0.5 }));
    }

    [Fact]
    public void With_the_filter_the_kept_answers_are_right_and_garbage_labels_change_no_byte()
    {
        var items = CurriculumRegistry.Get("ten-chains").Generate(9, Split.Train, 60).Where(i => i.Difficulty >= 3).ToList();
        var garbage = items.Select((i, k) => i with { Answer = $"garbage{k}", Rationale = "nonsense", Response = "answer: -999" }).ToList();
        var options = new SelfImprovementOptions { Samples = 8, ConfidenceThreshold = 0.25, MaxPathsPerQuestion = 1, Seed = 5, FaithfulPathsOnly = true };
        string Data(IEnumerable<CurriculumItem> source, SelfImprovementOptions o, out IReadOnlyList<VotedQuestion> voted)
        {
            var questions = UnlabelledQuestion.From(source);
            voted = SelfImprovement.CollectPaths(new PlaceLosingSampler(), [.. questions, .. QuestionAugmentation.Combined(questions, 4, seed: 2)], o);
            return string.Join('\n', SelfImprovement.BuildTrainingData(voted, o).Select(d => CurriculumJson.ToLine(d.Example)));
        }
        var clean = Data(items, options, out var kept);
        Assert.Equal(clean, Data(garbage, options, out _));
        Assert.DoesNotContain("garbage", clean);
        // Truth read here only to show the filter works: every kept majority is right with it, not without it.
        var truth = items.GroupBy(i => i.Prompt).ToDictionary(g => g.Key, g => g.First().Answer);
        Assert.All(kept.Where(v => truth.ContainsKey(v.Question.Text)), v => Assert.Equal(truth[v.Question.Text], v.Answer));
        Data(items, options with { FaithfulPathsOnly = false }, out var unfiltered);
        Assert.Contains(unfiltered, v => truth.TryGetValue(v.Question.Text, out var t) && t != v.Answer);
    }

    [Fact]
    public void Other_families_are_refused_with_the_fix()
    {
        var error = Assert.Throws<UserError>(() => SelfImprovement.CollectPaths(new PlaceLosingSampler(),
            [new UnlabelledQuestion("a", "arithmetic", "What is 12 * 3?")], new SelfImprovementOptions { FaithfulPathsOnly = true }));
        Assert.Contains("--faithful-paths", error.Message);
        // The demo and the loop refuse before any training, not when the round starts sampling.
        var demo = new ReasoningDemoSettings { OutDirectory = RepoPaths.NewTempDir() };
        Assert.Throws<UserError>(() => ReasoningDemo.Run(demo with { Recipe = demo.Recipe with { Family = "arithmetic" } }, new LineObserver(_ => { })));
        Assert.Throws<UserError>(() => SelfImprovementLoop.Run(new SelfImproveSettings { Model = "no-such-model", Family = "arithmetic", Sampling = new() { FaithfulPathsOnly = true } }, new LineObserver(_ => { })));
    }
}
