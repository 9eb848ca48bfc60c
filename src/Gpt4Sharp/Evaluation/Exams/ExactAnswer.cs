using System.Globalization;
using System.Text.RegularExpressions;
using Gpt4Sharp.Evaluation.Code;

namespace Gpt4Sharp.Evaluation.Exams;

/// <summary>A question with one right answer and the rule that recognises it in the model's output.</summary>
public sealed record ExactAnswerItem(string Id, string Prompt, string Answer, Func<string, bool> Check, string? Category = null);

public sealed record ExactAnswerResult(string Id, string Output, string Answer, bool Correct, string? Category);

/// <summary>Scores exact-answer suites (GSM8K, curriculum families): greedy completion, then the item's own check.</summary>
public static class ExactAnswer
{
    public static async Task<(IReadOnlyList<ExactAnswerResult> Results, ExamScore Score)> ScoreAsync(string suite, ICompletionModel model,
        IReadOnlyList<ExactAnswerItem> items, int maxTokens, IReadOnlyList<string> stop, Action<ExactAnswerResult>? onResult = null,
        CancellationToken cancellationToken = default)
    {
        var results = new List<ExactAnswerResult>();
        foreach (var item in items)
        {
            var output = (await model.CompleteAsync(item.Prompt, 1, 0.0, maxTokens, stop, cancellationToken))[0];
            var result = new ExactAnswerResult(item.Id, output, item.Answer, item.Check(output), item.Category);
            results.Add(result);
            onResult?.Invoke(result);
        }
        return (results, MultipleChoice.Score(suite, "exact answer", results.Select(r => (r.Correct, r.Category)).ToList()));
    }
}

/// <summary>GSM8K (question, worked answer ending "#### N"): the reference number and the model's number, compared as numbers.</summary>
public static partial class Gsm8k
{
    public static IReadOnlyList<ExactAnswerItem> Load(string path) =>
        CodeFiles.ReadJsonLines(path).Select((x, i) =>
        {
            var question = x.Line["question"]?.GetValue<string>() ?? throw new UserError($"{path}:{x.Number} lacks 'question'; pass the GSM8K JSONL file.");
            var solution = x.Line["answer"]?.GetValue<string>() ?? throw new UserError($"{path}:{x.Number} lacks 'answer'; pass the GSM8K JSONL file.");
            var answer = ReferenceAnswer(solution) ?? throw new UserError($"{path}:{x.Number}: the answer has no '#### N' line; pass the GSM8K JSONL file.");
            return new ExactAnswerItem($"gsm8k/{i}", Prompt(question), answer, output => SameNumber(ModelAnswer(output), answer));
        }).ToList();

    public static string Prompt(string question) => $"Question: {question}\nAnswer: Let's think step by step, and end with '#### <number>'.\n";

    /// <summary>The number after "####" in a GSM8K solution, without thousands separators.</summary>
    public static string? ReferenceAnswer(string solution)
    {
        var at = solution.LastIndexOf("####", StringComparison.Ordinal);
        return at < 0 ? null : Normalize(solution[(at + 4)..].Trim());
    }

    /// <summary>The model's final number: after its last "####" if it wrote one, else the last number in the text.</summary>
    public static string? ModelAnswer(string output)
    {
        var at = output.LastIndexOf("####", StringComparison.Ordinal);
        var numbers = Number().Matches(at >= 0 ? output[(at + 4)..] : output);
        if (numbers.Count == 0) return null;
        return Normalize((at >= 0 ? numbers[0] : numbers[^1]).Value);
    }

    public static bool SameNumber(string? a, string? b) =>
        a is not null && b is not null &&
        decimal.TryParse(a, NumberStyles.Number, CultureInfo.InvariantCulture, out var x) &&
        decimal.TryParse(b, NumberStyles.Number, CultureInfo.InvariantCulture, out var y) && x == y;

    static string Normalize(string number) => number.Replace(",", "").Replace("$", "").TrimEnd('.').Trim();

    [GeneratedRegex(@"-?\$?\d[\d,]*(\.\d+)?")]
    private static partial Regex Number();
}
