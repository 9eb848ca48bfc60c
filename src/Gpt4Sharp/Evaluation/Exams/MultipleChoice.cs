using System.Text.RegularExpressions;

namespace Gpt4Sharp.Evaluation.Exams;

/// <summary>One multiple-choice question with exactly one correct choice (TruthfulQA MC1 style).</summary>
public sealed record MultipleChoiceQuestion(string Id, string Question, IReadOnlyList<string> Choices, int Correct, string? Category = null)
{
    public static string Letter(int index) => ((char)('A' + index)).ToString();
}

public enum ChoiceMethod { LogLikelihood, GeneratedLetter }

/// <summary>What the model chose for one question (-1 when no letter could be read from its answer).</summary>
public sealed record ChoiceAnswer(string Id, int Chosen, int Correct, string? Category, string? RawOutput)
{
    public bool IsCorrect => Chosen == Correct;
}

public sealed record ExamScore(string Suite, string Method, int Total, int Correct, IReadOnlyDictionary<string, (int Correct, int Total)> ByCategory)
{
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;
}

/// <summary>
/// Scores multiple-choice questions two ways: by the model's log-likelihood of each answer
/// given the question (argmax, as TruthfulQA's MC1 does), and by asking for the letter of the
/// right choice and reading it from the generated text.
/// </summary>
public static partial class MultipleChoice
{
    public static string LikelihoodContext(MultipleChoiceQuestion q) => $"Q: {q.Question}\nA:";

    public static string LetterPrompt(MultipleChoiceQuestion q)
    {
        if (q.Choices.Count > 26) throw new UserError($"Question {q.Id} has {q.Choices.Count} choices; letter scoring supports at most 26.");
        var lines = q.Choices.Select((c, i) => $"{MultipleChoiceQuestion.Letter(i)}) {c}");
        return $"Question: {q.Question}\n{string.Join("\n", lines)}\nAnswer with the letter of the correct choice.\nAnswer:";
    }

    public static ChoiceAnswer ByLogLikelihood(ICompletionModel model, MultipleChoiceQuestion q)
    {
        var context = LikelihoodContext(q);
        var scores = q.Choices.Select(c => model.LogLikelihood(context, " " + c)).ToList();
        var best = scores.IndexOf(scores.Max());
        return new ChoiceAnswer(q.Id, best, q.Correct, q.Category, null);
    }

    public static async Task<ChoiceAnswer> ByGeneratedLetterAsync(ICompletionModel model, MultipleChoiceQuestion q, CancellationToken cancellationToken)
    {
        var output = (await model.CompleteAsync(LetterPrompt(q), 1, 0.0, 8, ["\n"], cancellationToken))[0];
        return new ChoiceAnswer(q.Id, ExtractLetter(output, q.Choices.Count), q.Correct, q.Category, output);
    }

    /// <summary>The first standalone capital letter naming a valid choice ("B", "(B)", "B)", "Answer: B."), or -1.</summary>
    public static int ExtractLetter(string output, int choiceCount)
    {
        foreach (Match m in StandaloneLetter().Matches(output))
        {
            var index = m.Groups[1].Value[0] - 'A';
            if (index < choiceCount) return index;
        }
        return -1;
    }

    public static async Task<(IReadOnlyList<ChoiceAnswer> Answers, ExamScore Score)> ScoreAsync(string suite, ICompletionModel model,
        IReadOnlyList<MultipleChoiceQuestion> questions, ChoiceMethod method, Action<ChoiceAnswer>? onAnswer = null, CancellationToken cancellationToken = default)
    {
        var answers = new List<ChoiceAnswer>();
        foreach (var q in questions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var answer = method == ChoiceMethod.LogLikelihood ? ByLogLikelihood(model, q) : await ByGeneratedLetterAsync(model, q, cancellationToken);
            answers.Add(answer);
            onAnswer?.Invoke(answer);
        }
        return (answers, Score(suite, method.ToString(), answers.Select(a => (a.IsCorrect, a.Category)).ToList()));
    }

    internal static ExamScore Score(string suite, string method, IReadOnlyList<(bool Correct, string? Category)> outcomes) =>
        new(suite, method, outcomes.Count, outcomes.Count(o => o.Correct),
            outcomes.GroupBy(o => o.Category ?? "all").OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (g.Count(o => o.Correct), g.Count())));

    [GeneratedRegex(@"(?<![A-Za-z])([A-Z])(?![A-Za-z])")]
    private static partial Regex StandaloneLetter();
}
