using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Reasoning;

/// <summary>How one evaluation samples: prompt format, exemplars, m paths over temperatures.</summary>
public sealed record ReasoningEvalOptions
{
    public PromptFormat Format { get; init; } = PromptFormat.ZeroShotCot;
    /// <summary>Exemplars per few-shot prompt.</summary>
    public int Shots { get; init; } = 2;
    /// <summary>Reasoning paths sampled per question for self-consistency; 1 evaluates greedy decoding only.</summary>
    public int Samples { get; init; } = 16;
    public IReadOnlyList<double> Temperatures { get; init; } = [0.7];
    public string? SystemPrompt { get; init; }
    public long Seed { get; init; } = 1;
}

/// <summary>One evaluated question: the greedy reply's answer and the vote over the sampled paths.</summary>
public sealed record ReasoningItemResult(
    string Id, int Difficulty, string Expected, string GreedyReply, string? GreedyAnswer, bool GreedyCorrect,
    IReadOnlyList<string?> SampledAnswers, string? VotedAnswer, double Confidence, bool VotedCorrect);

/// <summary>Accuracy of a format: greedy, and majority vote over the first m paths for m = 1, 2, 4, ... up to the samples drawn.</summary>
public sealed record ReasoningEvalResult(
    string Family, string Format, int Items, double GreedyAccuracy,
    IReadOnlyDictionary<int, double> VotedAccuracyBySamples,
    IReadOnlyDictionary<int, double> GreedyAccuracyByDifficulty,
    double SecondsPerItem,
    IReadOnlyList<ReasoningItemResult> Details);

/// <summary>
/// Scores a model on labelled held-out items in one prompt format, with greedy decoding and with
/// self-consistency. Labels are used only here, to score; sampling never sees them.
/// </summary>
public static class ReasoningEvaluation
{
    public static ReasoningEvalResult Run(IPathSampler sampler, IReadOnlyList<CurriculumItem> items, ReasoningEvalOptions options,
        ExemplarPool? exemplars = null, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        if (items.Count == 0) throw new UserError("There are no evaluation items; raise --items or lower --min-steps.");
        if (options.Samples < 1) throw new UserError($"--samples must be at least 1 (got {options.Samples}).");
        if (options.Format.IsFewShot() && exemplars is null) throw new UserError($"The {options.Format.Name()} format needs an exemplar pool from the training split.");
        var family = items[0].Family;
        if (items.Any(i => i.Family != family)) throw new UserError("Evaluate one family at a time; the items mix families.");
        if (items.Any(i => i.Split != Split.Eval)) throw new UserError("Reasoning evaluation takes held-out items only (Split.Eval).");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var details = new List<ReasoningItemResult>();
        foreach (var item in items)
        {
            cancel.ThrowIfCancellationRequested();
            var shots = options.Format.IsFewShot() ? exemplars!.Draw(options.Shots, item.Id, options.Seed) : null;
            var messages = ReasoningPrompts.Messages(options.Format, item.Prompt, shots, options.SystemPrompt);
            var greedy = sampler.Sample(messages, 1, [0.0], options.Seed)[0];
            var greedyAnswer = AnswerExtraction.Extract(family, greedy);
            IReadOnlyList<string?> sampled = options.Samples > 1
                ? sampler.Sample(messages, options.Samples, options.Temperatures, options.Seed + details.Count).Select(r => AnswerExtraction.Extract(family, r)).ToList()
                : [greedyAnswer];
            var vote = SelfConsistency.Vote(sampled);
            details.Add(new ReasoningItemResult(item.Id, item.Difficulty, item.Answer, greedy, greedyAnswer, AnswerExtraction.IsCorrect(item, greedyAnswer),
                sampled, vote.Answer, vote.Confidence, AnswerExtraction.IsCorrect(item, vote.Answer)));
            progress?.Report((details.Count, items.Count));
        }

        var byItem = details.Zip(items);
        var voted = SampleCounts(options.Samples).ToDictionary(m => m, m => byItem.Average(p =>
            AnswerExtraction.IsCorrect(p.Second, SelfConsistency.Vote(p.First.SampledAnswers.Take(m).ToList()).Answer) ? 1.0 : 0.0));
        var byDifficulty = details.GroupBy(d => d.Difficulty).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Average(d => d.GreedyCorrect ? 1.0 : 0.0));
        return new ReasoningEvalResult(family, options.Format.Name(), details.Count, details.Average(d => d.GreedyCorrect ? 1.0 : 0.0),
            voted, byDifficulty, clock.Elapsed.TotalSeconds / details.Count, details);
    }

    /// <summary>1, 2, 4, ... and m itself: the points of the accuracy-against-m curve.</summary>
    public static IEnumerable<int> SampleCounts(int m)
    {
        for (int k = 1; k < m; k *= 2) yield return k;
        yield return m;
    }

    /// <summary>Held-out items of a family with at least <paramref name="minDifficulty"/> steps (the first <paramref name="count"/> in stream order).</summary>
    public static IReadOnlyList<CurriculumItem> HeldOut(string family, long seed, int count, int minDifficulty = 1, int maxDifficulty = int.MaxValue)
    {
        var source = CurriculumRegistry.Get(family);
        var items = new List<CurriculumItem>();
        for (long i = 0; items.Count < count && i < count * 64L; i++)
        {
            var item = source.Make(seed, Split.Eval, i);
            if (item.Difficulty >= minDifficulty && item.Difficulty <= maxDifficulty) items.Add(item);
        }
        return items;
    }
}
