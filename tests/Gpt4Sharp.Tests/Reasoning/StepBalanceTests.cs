using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>
/// The round's label-free step-count options: more paths for long questions and a kept set
/// balanced across step counts, both read from the question text alone.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class StepBalanceTests(TinyReasonerFixture tiny) : IClassFixture<TinyReasonerFixture>
{
    /// <summary>Works every chain faithfully and right, and records how many paths each question was asked for.</summary>
    sealed class CountingSampler : IPathSampler
    {
        public Dictionary<string, int> Asked { get; } = [];

        public IReadOnlyList<string> Sample(IReadOnlyList<ChatMessage> messages, int count, IReadOnlyList<double> temperatures, long seed)
        {
            var question = Regex.Match(messages[^1].Content, @"What is [^?]*\?").Value;
            Asked[question] = count;
            int total = int.Parse(Regex.Match(question, @"\d+").Value);
            var lines = new List<string>();
            foreach (Match m in Regex.Matches(question, @"([+-]) (\d+)"))
            {
                int next = total + (m.Groups[1].Value == "-" ? -1 : 1) * int.Parse(m.Groups[2].Value);
                lines.Add($"{total} {m.Groups[1].Value} {m.Groups[2].Value} = {next}");
                total = next;
            }
            return Enumerable.Repeat($"{string.Join('\n', lines)}\nanswer: {total}", count).ToList();
        }

        public IReadOnlyList<string> Continue(string prefix, int count, double temperature, string stop, long seed) => throw new NotSupportedException();
    }

    static UnlabelledQuestion Q(string text) => new(text, "ten-chains", text);

    [Fact]
    public void Operations_are_counted_from_the_question_text()
    {
        Assert.Equal(3, PathFidelity.Operations("What is 9 + 4 + 3 - 5?"));
        Assert.Equal(1, PathFidelity.Operations("What is 9 - 4?"));
        Assert.Equal(0, PathFidelity.Operations("What is the capital of France?"));
        foreach (var item in CurriculumRegistry.Get("ten-chains").Generate(3, Split.Train, 200))
            Assert.Equal(item.Difficulty, PathFidelity.Operations(item.Prompt));
    }

    [Fact]
    public void Long_questions_get_their_own_number_of_paths()
    {
        var sampler = new CountingSampler();
        var options = new SelfImprovementOptions { Samples = 4, LongSteps = 5, LongSamples = 12, ConfidenceThreshold = 0.5 };
        var kept = SelfImprovement.CollectPaths(sampler, [Q("What is 1 + 2 + 3?"), Q("What is 1 + 2 + 3 + 1 + 2 + 1?"), Q("What is 9 - 1 - 1 - 1 - 1 - 1?")], options);
        Assert.Equal(3, kept.Count);
        Assert.Equal([4, 12, 12], sampler.Asked.Values);
        SelfImprovement.CollectPaths(sampler, [Q("What is 1 + 2 + 3 + 1 + 2 + 1?")], options with { LongSamples = 0 });
        Assert.Equal(4, sampler.Asked["What is 1 + 2 + 3 + 1 + 2 + 1?"]); // 0 means the ordinary m
    }

    [Fact]
    public void Balancing_repeats_each_step_count_up_to_the_most_kept_one()
    {
        var voted = new[] { "What is 1 + 1 + 1?", "What is 2 + 1 + 1?", "What is 3 + 1 + 1?", "What is 1 + 1 + 1 + 1 + 1?", "What is 1 + 1 + 1 + 1?", "What is 2 + 1 + 1 + 1?" }
            .Select(t => new VotedQuestion(Q(t), "0", 1, ["p"])).ToList();
        var balanced = SelfImprovement.BalanceBySteps(voted);
        Assert.Equal(9, balanced.Count);
        Assert.All(balanced.GroupBy(v => PathFidelity.Operations(v.Question.Text)), g => Assert.Equal(3, g.Count()));
        Assert.Equal(3, balanced.Count(v => v.Question.Text == "What is 1 + 1 + 1 + 1 + 1?"));
        Assert.Equal(voted.Select(v => v.Question.Text).ToHashSet(), balanced.Select(v => v.Question.Text).ToHashSet());
        Assert.Empty(SelfImprovement.BalanceBySteps([]));
    }

    [Fact]
    public void Garbage_labels_change_no_byte_with_the_step_options_on()
    {
        var items = CurriculumRegistry.Get("ten-chains").Generate(11, Split.Train, 80).Where(i => i.Difficulty >= 3).ToList();
        var garbage = items.Select((i, k) => i with { Answer = $"garbage{k}", Rationale = "nonsense", Response = "answer: -999" }).ToList();
        var options = new SelfImprovementOptions { Samples = 4, LongSteps = 5, LongSamples = 8, BalanceSteps = true, FaithfulPathsOnly = true, MaxPathsPerQuestion = 1, Seed = 3 };
        string Data(IEnumerable<CurriculumItem> source)
        {
            var voted = SelfImprovement.BalanceBySteps(SelfImprovement.CollectPaths(new CountingSampler(), UnlabelledQuestion.From(source), options));
            return string.Join('\n', SelfImprovement.BuildTrainingData(voted, options).Select(d => CurriculumJson.ToLine(d.Example)));
        }
        var clean = Data(items);
        Assert.Equal(clean, Data(garbage));
        Assert.DoesNotContain("garbage", clean);
    }

    [Fact]
    public void Step_options_refuse_families_whose_questions_they_cannot_read()
    {
        foreach (var options in new[] { new SelfImprovementOptions { LongSteps = 5, LongSamples = 8 }, new SelfImprovementOptions { BalanceSteps = true } })
        {
            var error = Assert.Throws<UserError>(() => SelfImprovement.CollectPaths(new CountingSampler(), [new UnlabelledQuestion("a", "arithmetic", "What is 12 * 3?")], options));
            Assert.Contains("--long-steps", error.Message);
        }
        Assert.Throws<UserError>(() => new SelfImprovementOptions { LongSteps = -1 }.Validate(["ten-chains"]));
    }

    [Fact]
    public async Task Self_improve_cli_pools_several_evaluation_seeds_and_can_skip_the_start()
    {
        var command = ReasoningCommands.Create()[1];
        var outDir = RepoPaths.NewTempDir();
        Assert.Equal(0, await command.Parse(["--model", tiny.Pretrained, "--family", "ten-chains", "--questions", "3", "--samples", "2", "--long-steps", "4", "--long-samples", "3",
            "--balance-steps", "--threshold", "0", "--steps", "1", "--eval-items", "2", "--eval-seeds", "2,3", "--measure-start", "false", "--max-tokens", "16",
            "--device", "cpu", "--out", outDir]).InvokeAsync());
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")))!;
        var rounds = results["rounds"]!.AsArray();
        Assert.Equal([1], rounds.Select(r => (int)r!["round"]!));
        Assert.Equal(2, rounds[0]!["greedy_accuracy_by_seed"]!.AsObject().Count);
        Assert.Equal(2, results["settings"]!["eval_seeds"]!.AsArray().Count);
        Assert.Equal(1, await command.Parse(["--model", tiny.Pretrained, "--family", "ten-chains", "--eval-seeds", "two", "--out", outDir]).InvokeAsync());
    }
}
