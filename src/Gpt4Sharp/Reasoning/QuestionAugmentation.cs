using System.Text.RegularExpressions;

namespace Gpt4Sharp.Reasoning;

/// <summary>
/// New unlabelled questions for self-improvement, made without any answer: by joining two
/// questions of the same shape into one longer problem, and by letting the model write
/// questions of its own (Huang et al. 2022, section 5: self-improvement with generated questions).
/// </summary>
public static partial class QuestionAugmentation
{
    [GeneratedRegex(@"^What is (?<expr>-?\d+(?: [+-] \d+)+)\?$")]
    private static partial Regex Chain();

    [GeneratedRegex(@"^(?<name>\p{Lu}\w*) has (?<n>\d+) (?<obj>\w+)\.(?<steps>(?: Then [^.]+\.)+) How many (?<obj2>\w+) does (?<name2>\p{Lu}\w*) have now\?$")]
    private static partial Regex WordProblem();

    [GeneratedRegex(@" Then [^.]+\.")]
    private static partial Regex StepSentence();

    /// <summary>
    /// Joins two arithmetic questions: chains "What is A?" and "What is B?" become "What is A + B?"
    /// (B's numbers continue the chain); for word problems the second one's events happen to the
    /// first one's person and objects. Null when the shapes differ or the result would exceed
    /// <paramref name="maxSteps"/> steps.
    /// </summary>
    public static UnlabelledQuestion? Combine(UnlabelledQuestion first, UnlabelledQuestion second, int maxSteps = 6)
    {
        if (first.Family != second.Family) return null;
        string? text = null;
        if (Chain().Match(first.Text) is { Success: true } c1 && Chain().Match(second.Text) is { Success: true } c2)
        {
            var expr = $"{c1.Groups["expr"].Value} + {c2.Groups["expr"].Value}";
            if (expr.Count(ch => ch is '+' or '-') <= maxSteps) text = $"What is {expr}?";
        }
        else if (WordProblem().Match(first.Text) is { Success: true } w1 && WordProblem().Match(second.Text) is { Success: true } w2)
        {
            var (name, obj) = (w1.Groups["name"].Value, w1.Groups["obj"].Value);
            var moved = w2.Groups["steps"].Value.Replace(w2.Groups["name"].Value, name).Replace(w2.Groups["obj"].Value, obj);
            var steps = w1.Groups["steps"].Value + moved;
            if (StepSentence().Matches(steps).Count <= maxSteps)
                text = $"{name} has {w1.Groups["n"].Value} {obj}.{steps} How many {obj} does {name} have now?";
        }
        return text is null ? null : new UnlabelledQuestion($"combined:{first.Id}+{second.Id}", first.Family, text);
    }

    /// <summary>Up to <paramref name="count"/> combined questions from seeded random pairs of <paramref name="questions"/>.</summary>
    public static IReadOnlyList<UnlabelledQuestion> Combined(IReadOnlyList<UnlabelledQuestion> questions, int count, long seed, int maxSteps = 6)
    {
        var rng = new Random(unchecked((int)seed));
        var made = new List<UnlabelledQuestion>();
        var seen = questions.Select(q => q.Text).ToHashSet();
        for (int attempt = 0; made.Count < count && attempt < count * 20 && questions.Count > 1; attempt++)
        {
            var a = questions[rng.Next(questions.Count)];
            var b = questions[rng.Next(questions.Count)];
            if (ReferenceEquals(a, b)) continue;
            if (Combine(a, b, maxSteps) is { } q && seen.Add(q.Text)) made.Add(q);
        }
        return made;
    }

    /// <summary>
    /// Questions the model writes itself: it continues "Q: " plus the opening words of a seed
    /// question as plain text (the pretraining document shape) up to the end of the line. Kept when
    /// it ends in a question mark and is new.
    /// </summary>
    public static IReadOnlyList<UnlabelledQuestion> Generated(IPathSampler sampler, IReadOnlyList<UnlabelledQuestion> seeds, int count, long seed, int perPrompt = 8)
    {
        var made = new List<UnlabelledQuestion>();
        var seen = seeds.Select(q => q.Text).ToHashSet();
        var rng = new Random(unchecked((int)seed));
        for (int attempt = 0; made.Count < count && attempt < Math.Max(1, count / perPrompt) * 4 && seeds.Count > 0; attempt++)
        {
            var source = seeds[rng.Next(seeds.Count)];
            var opening = string.Join(' ', source.Text.Split(' ').Take(2));
            foreach (var continuation in sampler.Continue($"Q: {opening}", perPrompt, temperature: 1.0, stop: "\n", seed + attempt))
            {
                var text = (opening + continuation).Trim();
                if (made.Count < count && text.EndsWith('?') && text.Length > opening.Length + 8 && seen.Add(text))
                    made.Add(new UnlabelledQuestion($"generated:{seed}:{made.Count}", source.Family, text));
            }
        }
        return made;
    }
}
