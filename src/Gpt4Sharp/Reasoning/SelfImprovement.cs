using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Reasoning;

/// <summary>How the self-improvement loop samples, filters and builds its data.</summary>
public sealed record SelfImprovementOptions
{
    /// <summary>Paths sampled per question (m).</summary>
    public int Samples { get; init; } = 16;
    public IReadOnlyList<double> Temperatures { get; init; } = [0.7];
    /// <summary>Keep a question only when the majority's vote share reaches this.</summary>
    public double ConfidenceThreshold { get; init; } = 0.5;
    /// <summary>Distinct majority-agreeing paths kept per question, the most frequent first.</summary>
    public int MaxPathsPerQuestion { get; init; } = 4;
    /// <summary>Exemplars (the model's own kept paths) in the chain-of-thought exemplar format.</summary>
    public int Shots { get; init; } = 1;
    /// <summary>
    /// Extension of Huang et al. 2022 (off by default): before the vote, a sampled path that does
    /// not work the question's own operations in order (<see cref="PathFidelity"/>, which reads
    /// only the question) loses its vote and cannot be kept. Confidence stays the winner's share of
    /// all m paths. For the one-digit chain families only.
    /// </summary>
    public bool FaithfulPathsOnly { get; init; }
    /// <summary>
    /// Questions of at least this many operations count as long (0: none do). The step count is
    /// read from the question text (<see cref="PathFidelity.Operations"/>), so it needs no label.
    /// </summary>
    public int LongSteps { get; init; }
    /// <summary>Paths sampled per long question (0: <see cref="Samples"/>); more paths let more long questions reach the vote share.</summary>
    public int LongSamples { get; init; }
    /// <summary>
    /// Repeat the kept questions of each step count until every step count has as many as the one
    /// with the most, so that the round trains long chains (which fewer questions pass) as much as short ones.
    /// </summary>
    public bool BalanceSteps { get; init; }
    public long Seed { get; init; } = 1;

    /// <summary>Paths to sample for a question: <see cref="LongSamples"/> for a long one, else <see cref="Samples"/>.</summary>
    public int SamplesFor(UnlabelledQuestion question) =>
        LongSteps > 0 && LongSamples > 0 && PathFidelity.Operations(question.Text) >= LongSteps ? LongSamples : Samples;

    /// <summary>Refuses settings that cannot run, before any sampling.</summary>
    public void Validate(IEnumerable<string> families)
    {
        if (Samples < 1) throw new UserError($"--samples must be at least 1 (got {Samples}).");
        if (LongSteps < 0 || LongSamples < 0) throw new UserError($"--long-steps and --long-samples must be 0 or more (got {LongSteps} and {LongSamples}).");
        if (FaithfulPathsOnly || LongSteps > 0 || BalanceSteps)
            foreach (var family in families.Distinct()) PathFidelity.EnsureSupported(family);
    }
}

/// <summary>A question the model answered confidently: its majority answer and the paths that reached it.</summary>
public sealed record VotedQuestion(UnlabelledQuestion Question, string Answer, double Confidence, IReadOnlyList<string> Paths);

/// <summary>The four training formats of Huang et al. 2022 (section 3.2), as this project renders them.</summary>
public enum TrainingFormat
{
    /// <summary>Few-shot chain-of-thought prompt (exemplars are other kept paths) → the path.</summary>
    CotExemplars,
    /// <summary>Question with "Give only the final answer." → "answer: X".</summary>
    DirectAnswer,
    /// <summary>Question with "Let's think step by step." → the path.</summary>
    StepByStep,
    /// <summary>The bare question → "answer: X".</summary>
    PlainQuestion,
}

/// <summary>
/// Self-improvement without labels (Huang et al. 2022): sample m reasoning paths per unlabelled
/// question, keep the paths that agree with a confident majority, and turn them into training
/// conversations in four formats. Everything here takes <see cref="UnlabelledQuestion"/>, which
/// carries no answer; the loop that fine-tunes and measures is <see cref="SelfImprovementLoop"/>.
/// </summary>
public static class SelfImprovement
{
    /// <summary>
    /// Samples zero-shot chain-of-thought paths for each question (no exemplars, so no labelled
    /// text enters the prompt), votes, and keeps the questions whose confidence passes the threshold.
    /// </summary>
    public static IReadOnlyList<VotedQuestion> CollectPaths(IPathSampler sampler, IReadOnlyList<UnlabelledQuestion> questions, SelfImprovementOptions options,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        options.Validate(questions.Select(q => q.Family));
        var kept = new List<VotedQuestion>();
        for (int i = 0; i < questions.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var q = questions[i];
            var replies = sampler.Sample(ReasoningPrompts.Messages(PromptFormat.ZeroShotCot, q.Text), options.SamplesFor(q), options.Temperatures, options.Seed + i);
            var answers = replies.Select(r => AnswerExtraction.Extract(q.Family, r)).ToList();
            if (Filter(q, replies, answers, options) is { } voted) kept.Add(voted);
            progress?.Report((i + 1, questions.Count));
        }
        return kept;
    }

    /// <summary>The confident-majority filter for one question: null when no answer or the vote share is under the threshold.</summary>
    public static VotedQuestion? Filter(UnlabelledQuestion question, IReadOnlyList<string> replies, IReadOnlyList<string?> answers, SelfImprovementOptions options)
    {
        if (options.FaithfulPathsOnly)
            answers = answers.Select((a, k) => PathFidelity.FollowsQuestion(question.Text, ReasoningPrompts.ReasoningOf(replies[k])) ? a : null).ToList();
        var vote = SelfConsistency.Vote(answers);
        if (vote.Answer is null || vote.Confidence < options.ConfidenceThreshold) return null;
        // Most frequent paths first (ties: first seen): when a problem has one right derivation,
        // the path most samples agree on is the likeliest to be it, and rarer paths that reach the
        // same answer are more often flawed derivations that got lucky.
        var paths = replies.Where((_, k) => answers[k] == vote.Answer)
            .Select(ReasoningPrompts.ReasoningOf).Where(p => p.Length > 0)
            .GroupBy(p => p, StringComparer.Ordinal).OrderByDescending(g => g.Count())
            .Select(g => g.Key).Take(options.MaxPathsPerQuestion).ToList();
        return new VotedQuestion(question, vote.Answer, vote.Confidence, paths);
    }

    /// <summary>
    /// Kept questions with every step count brought up to the count of the step count with the
    /// most kept questions, by repeating its questions in order (see <see cref="SelfImprovementOptions.BalanceSteps"/>).
    /// Reads only the question text.
    /// </summary>
    public static IReadOnlyList<VotedQuestion> BalanceBySteps(IReadOnlyList<VotedQuestion> voted)
    {
        var groups = voted.GroupBy(v => PathFidelity.Operations(v.Question.Text)).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        if (groups.Count == 0) return voted;
        int target = groups.Max(g => g.Count);
        return [.. groups.SelectMany(g => Enumerable.Range(0, target).Select(k => g[k % g.Count]))];
    }

    /// <summary>
    /// Training conversations in the four formats, shuffled with the seed: per kept path one
    /// <see cref="TrainingFormat.CotExemplars"/> and one <see cref="TrainingFormat.StepByStep"/>
    /// example, per question one <see cref="TrainingFormat.DirectAnswer"/> and one
    /// <see cref="TrainingFormat.PlainQuestion"/> example.
    /// </summary>
    public static IReadOnlyList<(TrainingFormat Format, ChatExample Example)> BuildTrainingData(IReadOnlyList<VotedQuestion> voted, SelfImprovementOptions options)
    {
        var pool = voted.Where(v => v.Paths.Count > 0).Select(v => new Exemplar(v.Question.Text, v.Paths[0], v.Answer)).ToList();
        var rng = new Random(unchecked((int)options.Seed));
        var data = new List<(TrainingFormat, ChatExample)>();
        foreach (var v in voted)
        {
            foreach (var path in v.Paths)
            {
                var reply = ReasoningPrompts.PathReply(path, v.Answer);
                var others = pool.Where(e => e.Question != v.Question.Text).OrderBy(_ => rng.Next()).Take(options.Shots).ToList();
                if (others.Count > 0) data.Add((TrainingFormat.CotExemplars, Chat(ReasoningPrompts.UserMessage(PromptFormat.FewShotCot, v.Question.Text, others), reply)));
                data.Add((TrainingFormat.StepByStep, Chat(ReasoningPrompts.UserMessage(PromptFormat.ZeroShotCot, v.Question.Text), reply)));
            }
            data.Add((TrainingFormat.DirectAnswer, Chat(ReasoningPrompts.UserMessage(PromptFormat.ZeroShot, v.Question.Text), ReasoningPrompts.DirectReply(v.Answer))));
            data.Add((TrainingFormat.PlainQuestion, Chat(v.Question.Text, ReasoningPrompts.DirectReply(v.Answer))));
        }
        return data.OrderBy(_ => rng.Next()).ToList();
    }

    static ChatExample Chat(string user, string assistant) => new([new ChatMessage("user", user), new ChatMessage("assistant", assistant)]);
}
