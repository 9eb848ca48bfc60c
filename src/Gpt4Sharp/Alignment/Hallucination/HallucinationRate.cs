using System.Text.Json.Serialization;
using Gpt4Sharp.Alignment.RedTeam;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Alignment.Hallucination;

/// <summary>
/// One unknown-entity question, the model's reply and whether it made something up. A hallucinated reply
/// either names a value (<paramref name="NamedValue"/>: a town, a year) or names none and still does not
/// decline (a refusal, an off-topic or garbled reply); both count, and the split says which failure it is.
/// </summary>
public sealed record HallucinationCase(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("reply")] string Reply,
    [property: JsonPropertyName("hallucinated")] bool Hallucinated,
    [property: JsonPropertyName("named_value")] bool NamedValue,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>Closed-domain hallucination rate: the share of questions about entities that do not exist that were answered instead of declined.</summary>
public sealed record HallucinationRateResult(double Rate, int Questions, int Hallucinated, IReadOnlyList<HallucinationCase> Cases)
{
    /// <summary>Hallucinated replies that name a value the world does not have.</summary>
    public int NamedValue => Cases.Count(c => c.Hallucinated && c.NamedValue);

    /// <summary>Every case as one JSON line {"prompt","reply","hallucinated","named_value","reason"}, written atomically.</summary>
    public void WriteJsonl(string path) => AtomicFile.WriteJsonLines(path, Cases);
}

/// <summary>
/// Over-declining, the counterpart of the hallucination rate (as over-refusal is of harmful compliance): of questions about
/// entities the world has, how many the model declined and how many it answered right.
/// </summary>
public sealed record AnswerableResult(int Questions, int Declined, int Right, IReadOnlyList<HallucinationCase> Cases)
{
    /// <summary>The share of answerable questions declined.</summary>
    public double DeclineRate => (double)Declined / Questions;
}

/// <summary>
/// Measures how often a chat model invents facts about entities the fictional world does not
/// contain, on the knowledge curriculum's held-out "unknown_entity" questions. The family's own
/// checker decides: a reply that names a value, or does not say it does not know, counts as a
/// hallucination. Same seed and count give the same questions, so runs before and after
/// RM + PPO are comparable.
/// </summary>
public static class HallucinationRate
{
    public static HallucinationRateResult Measure(ModelBundle bundle, int questions = 100, long seed = 1, int maxNewTokens = 48, IProgress<int>? progress = null, CancellationToken cancel = default, Split split = Split.Eval) =>
        Measure(ChatResponders.Greedy(bundle, maxNewTokens), questions, seed, progress, cancel, split);

    /// <param name="split">Eval (the default) for the held-out rate; Train asks about training-split entities, e.g. the ones a PPO run
    /// with seed <paramref name="seed"/> practised on (its pool is the start of the same stream), to tell a learning failure from a generalisation gap.</param>
    public static HallucinationRateResult Measure(ChatResponder respond, int questions = 100, long seed = 1, IProgress<int>? progress = null, CancellationToken cancel = default, Split split = Split.Eval)
    {
        if (questions < 1) throw new UserError($"The number of questions must be positive (got {questions}).");
        var cases = Ask(respond, "unknown_entity", seed, questions, split, progress, cancel);
        int made = cases.Count(c => c.Hallucinated);
        return new HallucinationRateResult((double)made / cases.Count, cases.Count, made, cases);
    }

    /// <summary>
    /// Asks the first <paramref name="questions"/> questions about entities that exist (the knowledge family's "question" items of
    /// <paramref name="split"/>) and counts the declines, so that a lower hallucination rate bought by declining everything shows.
    /// A case's Hallucinated flag marks a reply the family's checker does not accept (a decline, a wrong or missing value).
    /// </summary>
    public static AnswerableResult MeasureAnswerable(ChatResponder respond, int questions = 100, long seed = 1, IProgress<int>? progress = null, CancellationToken cancel = default, Split split = Split.Eval)
    {
        if (questions < 1) throw new UserError($"The number of answerable questions must be positive (got {questions}).");
        var cases = Ask(respond, "question", seed, questions, split, progress, cancel);
        return new AnswerableResult(cases.Count, cases.Count(c => KnowledgeFamily.SaysDontKnow(c.Reply)), cases.Count(c => !c.Hallucinated), cases);
    }

    /// <summary>Asks the first <paramref name="count"/> questions of one kind and keeps each reply with the family checker's verdict.</summary>
    static List<HallucinationCase> Ask(ChatResponder respond, string kind, long seed, int count, Split split, IProgress<int>? progress, CancellationToken cancel)
    {
        var family = new KnowledgeFamily();
        var cases = new List<HallucinationCase>();
        foreach (var item in Questions(family, kind, seed, count, split))
        {
            cancel.ThrowIfCancellationRequested();
            var reply = respond(ChatResponders.User(item.Prompt));
            var verdict = family.Check(item, reply);
            cases.Add(new HallucinationCase(item.Prompt, reply, !verdict.Correct, KnowledgeFamily.NamedValues(item, reply).Count > 0, verdict.Reason));
            progress?.Report(cases.Count);
        }
        return cases;
    }

    /// <summary>The first <paramref name="count"/> unknown-entity questions of the stream's <paramref name="split"/> (held out by default).</summary>
    public static IEnumerable<CurriculumItem> UnknownEntityQuestions(KnowledgeFamily family, long seed, int count, Split split = Split.Eval) =>
        Questions(family, "unknown_entity", seed, count, split);

    static IEnumerable<CurriculumItem> Questions(KnowledgeFamily family, string kind, long seed, int count, Split split)
    {
        int found = 0;
        for (long index = 0; found < count; index++)
        {
            var item = family.Make(seed, split, index);
            if (item.Kind != kind) continue;
            found++;
            yield return item;
        }
    }
}
