using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Hallucination;

public sealed class HallucinationTests
{
    [Fact]
    public void Synthetic_spans_are_wrong_values_of_the_world()
    {
        var examples = SyntheticHallucinations.Build(3, Split.Train, 200);
        Assert.Equal(200, examples.Count);
        var corrupted = examples.Count(e => e.Hallucinated.Count > 0);
        Assert.InRange(corrupted, 90, 150); // about 60%
        var world = FictionalWorld.Instance;
        foreach (var e in examples)
            foreach (var span in e.Hallucinated)
            {
                var value = e.Answer.Substring(span.Start, span.Length);
                var isValue = int.TryParse(value, out _) || new[] { "country", "river", "product", "profession", "town" }.Any(d => world.DomainValues(d).Contains(value));
                Assert.True(isValue, $"'{value}' in '{e.Answer}' is not a fact value");
                // The answer's sentence with the wrong value is not in the reference.
                var sentenceStart = e.Answer.LastIndexOf(". ", span.Start, StringComparison.Ordinal) + 1;
                var sentenceEnd = e.Answer.IndexOf('.', span.End);
                Assert.DoesNotContain(e.Answer[sentenceStart..(sentenceEnd + 1)].Trim(), e.Reference);
            }
        foreach (var e in examples.Where(e => e.Hallucinated.Count == 0))
            foreach (var sentence in e.Answer.Split(". ").Select(s => s.TrimEnd('.') + "."))
                Assert.Contains(sentence, e.Reference);
    }

    [Fact]
    public void Held_out_references_are_not_trained_on_and_building_repeats()
    {
        var train = SyntheticHallucinations.Build(5, Split.Train, 300).Select(e => e.Reference).ToHashSet();
        var eval = SyntheticHallucinations.Build(5, Split.Eval, 60);
        Assert.DoesNotContain(eval, e => train.Contains(e.Reference));
        Assert.Equal(eval.Select(e => e.Answer), SyntheticHallucinations.Build(5, Split.Eval, 60).Select(e => e.Answer));
    }

    [Fact]
    public void Detector_learns_and_round_trips()
    {
        var config = new DetectorConfig { Dim = 32, Heads = 2, Layers = 1, Buckets = 1024, Steps = 40, BatchSize = 16, Seed = 9 };
        var train = SyntheticHallucinations.Build(1, Split.Train, 400);
        var eval = SyntheticHallucinations.Build(1, Split.Eval, 40);
        using var detector = new HallucinationDetector(config);
        var losses = new List<double>();
        var final = detector.Train(train, new SyncProgress<DetectorProgress>(p => losses.Add(p.Loss)));
        Assert.Equal(40, losses.Count);
        Assert.True(final < losses.Take(4).Average(), $"loss {losses.Take(4).Average():F3} -> {final:F3}");
        var scores = detector.Evaluate(eval);
        Assert.True(scores.Positives > 0 && scores.Tokens > scores.Positives);
        Assert.InRange(scores.F1, 0, 1);

        var dir = RepoPaths.NewTempDir();
        detector.Save(dir);
        using var loaded = HallucinationDetector.Load(dir);
        var pairs = eval.Select(e => (e.Reference, e.Answer)).ToList();
        Assert.Equal(detector.DetectBatch(pairs), loaded.DetectBatch(pairs));
        Assert.Throws<UserError>(() => HallucinationDetector.Load(RepoPaths.NewTempDir()));

        // The pipeline on a responder that gets every answerable passage question wrong.
        var family = new KnowledgeFamily();
        var wrong = new Dictionary<string, string>();
        for (long i = 0; wrong.Count < 200; i++)
        {
            var item = family.Make(4, Split.Train, i);
            if (item.Kind != "passage") continue;
            var truth = item.Answer;
            wrong[item.Prompt] = item.Response.Replace(truth, SyntheticHallucinations.WrongValue(new ItemRng((ulong)i), (string)item.Extra!["domain"]!, truth));
        }
        var result = new HallucinationPipeline(detector).Run(conv => wrong.GetValueOrDefault(conv[^1].Content, KnowledgeFamily.NotInPassage), seed: 4, questions: 30);
        Assert.Equal(30, result.Questions);
        Assert.True(result.Emitted > 0, "no comparison pair emitted");
        Assert.All(result.Pairs, p => Assert.NotEqual(p.Chosen, p.Rejected));
        Assert.True(result.R2CorrectOfEmitted >= result.Emitted / 2, $"{result.R2CorrectOfEmitted} of {result.Emitted} rewrites correct");
        Assert.True(result.R1Correct < result.Questions / 2);
    }

    [Fact]
    public void Rewrite_takes_values_from_the_reference()
    {
        const string passage = "Kalo was founded in 1250. Kalo is a town in Veluria. Mira is a town in Karsk.";
        const string r1 = "Kalo is a town in Karsk. Kalo was founded in 1300.";
        var spans = new List<TextSpan> { new(r1.IndexOf("Karsk", StringComparison.Ordinal), 5), new(r1.IndexOf("1300", StringComparison.Ordinal), 4) };
        Assert.Equal("Kalo is a town in Veluria. Kalo was founded in 1250.", HallucinationPipeline.Rewrite(passage, "Kalo", r1, spans));

        const string unstated = "Kalo is known for its salt.";
        Assert.Equal(KnowledgeFamily.NotInPassage, HallucinationPipeline.Rewrite(passage, "Kalo", unstated, [new(unstated.IndexOf("salt", StringComparison.Ordinal), 4)]));
        Assert.Null(HallucinationPipeline.Rewrite(passage, "Kalo", r1, [new(0, 4)])); // "Kalo" is no fact value
    }

    [Fact]
    public void Comparison_pairs_are_jsonl_with_three_string_fields()
    {
        var path = Path.Combine(RepoPaths.NewTempDir(), "pairs.jsonl");
        ComparisonPair.WriteJsonl(path, [new("q \"1\"", "good", "bad"), new("q2", "g2", "b2")]);
        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.Equal("{\"prompt\":\"q \\u00221\\u0022\",\"chosen\":\"good\",\"rejected\":\"bad\"}", lines[0]);
    }

    [Fact]
    public void Hallucination_rate_counts_made_up_answers()
    {
        var declines = HallucinationRate.Measure(_ => "I don't know of anyone by that name.", questions: 12, seed: 2);
        Assert.Equal(0, declines.Rate);
        Assert.Equal(12, declines.Questions);
        var inventor = HallucinationRate.Measure(_ => "It is in Ostrand, founded in 1200, on the river Kessa.", questions: 12, seed: 2);
        Assert.Equal(1, inventor.Rate);
        Assert.All(HallucinationRate.UnknownEntityQuestions(new KnowledgeFamily(), 2, 12), q => Assert.Equal(Split.Eval, q.Split));
        // Training-split questions are the start of the stream a PPO run with the same seed practises on.
        var practised = new KnowledgeFamily().Generate(2, Split.Train, 200).Where(i => i.Kind == "unknown_entity").Select(i => i.Prompt).ToList();
        Assert.Equal(practised.Take(12), HallucinationRate.UnknownEntityQuestions(new KnowledgeFamily(), 2, 12, Split.Train).Select(q => q.Prompt));
    }

    [Fact]
    public void Answerable_questions_count_the_declines_and_the_right_answers()
    {
        var decliner = HallucinationRate.MeasureAnswerable(_ => "I don't know of any person called that.", questions: 10, seed: 2);
        Assert.Equal((10, 10, 0, 1.0), (decliner.Questions, decliner.Declined, decliner.Right, decliner.DeclineRate));
        // Questions about entities that exist, held out: the world's own statement is the right answer.
        var world = new KnowledgeFamily().Generate(2, Split.Eval, 2000).Where(i => i.Kind == "question").GroupBy(i => i.Prompt).ToDictionary(g => g.Key, g => g.First().Response);
        var knower = HallucinationRate.MeasureAnswerable(conversation => world[conversation[^1].Content], questions: 10, seed: 2);
        Assert.Equal((10, 0, 10), (knower.Questions, knower.Declined, knower.Right));
        Assert.All(knower.Cases, c => Assert.False(c.Hallucinated, c.Prompt));
        Assert.DoesNotContain(knower.Cases, c => HallucinationRate.UnknownEntityQuestions(new KnowledgeFamily(), 2, 50).Any(q => q.Prompt == c.Prompt));
        Assert.Throws<UserError>(() => HallucinationRate.MeasureAnswerable(_ => "", questions: 0));
    }

    [Fact]
    public void Hallucination_rate_tells_invented_values_from_replies_that_do_not_decline_and_writes_every_case()
    {
        // A refusal names no value but does not decline either: it counts, on the other side of the split.
        var refuser = HallucinationRate.Measure(_ => "I can't help with that.", questions: 6, seed: 2);
        Assert.Equal((6, 0), (refuser.Hallucinated, refuser.NamedValue));
        var inventor = HallucinationRate.Measure(_ => "That was in 1200.", questions: 12, seed: 2);
        var yearQuestions = inventor.Cases.Where(c => c.Prompt.Contains("year", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(yearQuestions);
        Assert.All(yearQuestions, c => Assert.True(c.Hallucinated && c.NamedValue, c.Prompt));
        Assert.Equal(yearQuestions.Count, inventor.NamedValue);

        var path = Path.Combine(RepoPaths.NewTempDir(), "cases.jsonl");
        refuser.WriteJsonl(path);
        var lines = File.ReadAllLines(path);
        Assert.Equal(6, lines.Length);
        using var first = System.Text.Json.JsonDocument.Parse(lines[0]);
        Assert.Equal(refuser.Cases[0].Prompt, first.RootElement.GetProperty("prompt").GetString());
        Assert.Equal("I can't help with that.", first.RootElement.GetProperty("reply").GetString());
        Assert.True(first.RootElement.GetProperty("hallucinated").GetBoolean());
        Assert.False(first.RootElement.GetProperty("named_value").GetBoolean());
        Assert.Equal("did not say it does not know", first.RootElement.GetProperty("reason").GetString());
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, too late for asserts).</summary>
    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
