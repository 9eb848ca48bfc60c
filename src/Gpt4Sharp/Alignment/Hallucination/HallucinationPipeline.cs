using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Gpt4Sharp.Alignment.RedTeam;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Alignment.Hallucination;

/// <summary>
/// One line of the reward model's comparison data: the response a rater prefers and the one
/// rejected, for the same prompt. Written as JSONL {"prompt","chosen","rejected"}.
/// </summary>
public sealed record ComparisonPair(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("chosen")] string Chosen,
    [property: JsonPropertyName("rejected")] string Rejected)
{
    public static void WriteJsonl(string path, IEnumerable<ComparisonPair> pairs) => AtomicFile.WriteJsonLines(path, pairs);
}

/// <summary>What happened to one question in the pipeline.</summary>
public sealed record PipelineCase(string Prompt, string R1, IReadOnlyList<string> Flagged, string? R2, bool R2Clean, bool R1Correct, bool? R2Correct, string Outcome);

public sealed record PipelineResult(int Questions, int Flagged, int Rewritten, int Emitted, int R1Correct, int R2CorrectOfEmitted, IReadOnlyList<ComparisonPair> Pairs, IReadOnlyList<PipelineCase> Cases);

/// <summary>
/// GPT-4's detect-and-rewrite process for closed-domain hallucinations (system card, section
/// 3.1): (1) the model answers a passage-grounded question with r1; (2) the detector lists r1's
/// hallucinated spans; (3) r2 replaces each span by the value the passage states for the same
/// entity and kind of fact, or becomes "The passage does not say." when the passage has none;
/// (4) r2 is checked again and, if clean, (prompt, r2 preferred over r1) joins the reward
/// model's comparison data. The curriculum's checker grades r1 and r2 for the report only.
/// </summary>
public sealed partial class HallucinationPipeline(HallucinationDetector detector)
{
    static FictionalWorld World => FictionalWorld.Instance;

    public PipelineResult Run(ChatResponder respond, long seed, int questions, IProgress<int>? progress = null, CancellationToken cancel = default)
    {
        if (questions < 1) throw new UserError($"The number of questions must be positive (got {questions}).");
        var family = new KnowledgeFamily();
        var cases = new List<PipelineCase>();
        var pairs = new List<ComparisonPair>();
        for (long index = 0; cases.Count < questions; index++)
        {
            var item = family.Make(seed, Split.Train, index);
            if (!item.Kind.StartsWith("passage", StringComparison.Ordinal)) continue;
            cancel.ThrowIfCancellationRequested();
            var r1 = respond(ChatResponders.User(item.Prompt));
            var (c, pair) = Process(family, item, r1);
            cases.Add(c);
            if (pair is not null) pairs.Add(pair);
            progress?.Report(cases.Count);
        }
        return new PipelineResult(cases.Count, cases.Count(c => c.Flagged.Count > 0), cases.Count(c => c.R2 is not null), pairs.Count,
            cases.Count(c => c.R1Correct), cases.Count(c => c.Outcome == "emitted" && c.R2Correct == true), pairs, cases);
    }

    /// <summary>Steps 2 to 4 for one passage item and the model's reply r1.</summary>
    public (PipelineCase Case, ComparisonPair? Pair) Process(ICurriculumFamily family, CurriculumItem item, string r1)
    {
        var passage = (string)item.Extra!["passage"]!;
        var entity = (string)item.Extra["entity"]!;
        bool r1Correct = family.Check(item, r1).Correct;
        var spans = detector.Detect(passage, r1);
        var flagged = spans.Select(s => r1.Substring(s.Start, s.Length)).ToList();
        if (spans.Count == 0) return (new PipelineCase(item.Prompt, r1, flagged, null, false, r1Correct, null, "clean"), null);

        var r2 = Rewrite(passage, entity, r1, spans);
        if (r2 is null) return (new PipelineCase(item.Prompt, r1, flagged, null, false, r1Correct, null, "not rewritable"), null);
        bool clean = detector.Detect(passage, r2).Count == 0 && r2 != r1;
        bool r2Correct = family.Check(item, r2).Correct;
        var outcome = clean ? "emitted" : "r2 still flagged";
        return (new PipelineCase(item.Prompt, r1, flagged, r2, clean, r1Correct, r2Correct, outcome),
            clean ? new ComparisonPair(item.Prompt, r2, r1) : null);
    }

    /// <summary>
    /// Replaces each flagged span by the passage's value of the same kind for the entity. Returns
    /// "The passage does not say." when the passage states no such value, and null when a flagged
    /// span is not a recognisable fact value (the detector flagged an ordinary word).
    /// </summary>
    public static string? Rewrite(string passage, string entity, string r1, IReadOnlyList<TextSpan> spans)
    {
        var text = new StringBuilder(r1);
        foreach (var span in spans.OrderByDescending(s => s.Start))
        {
            var domain = DomainOf(r1.Substring(span.Start, span.Length));
            if (domain is null) return null;
            var values = Sentences().Matches(passage).Select(m => m.Value)
                .Where(s => s.Contains(entity, StringComparison.OrdinalIgnoreCase))
                .SelectMany(s => ValuesIn(domain, s.Replace(entity, " ", StringComparison.OrdinalIgnoreCase)))
                .Distinct().ToList();
            if (values.Count != 1) return KnowledgeFamily.NotInPassage;
            text.Remove(span.Start, span.Length).Insert(span.Start, values[0]);
        }
        return text.ToString();
    }

    static string? DomainOf(string value)
    {
        if (Year().IsMatch(value) && Year().Match(value).Value == value.Trim()) return "year";
        foreach (var domain in new[] { "country", "river", "product", "profession", "town" })
            if (World.DomainValues(domain).Contains(value.Trim(), StringComparer.OrdinalIgnoreCase)) return domain;
        return null;
    }

    static IEnumerable<string> ValuesIn(string domain, string sentence) => domain == "year"
        ? Year().Matches(sentence).Select(m => m.Value)
        : World.DomainValues(domain).Where(v => Regex.IsMatch(sentence, $@"(?<![A-Za-z]){Regex.Escape(v)}(?![A-Za-z])", RegexOptions.IgnoreCase));

    [GeneratedRegex(@"(?<!\d)\d{3,4}(?!\d)")]
    private static partial Regex Year();

    [GeneratedRegex(@"[^.!?]+[.!?]?")]
    private static partial Regex Sentences();
}
