using Microsoft.VisualBasic.FileIO;

namespace Gpt4Sharp.Evaluation.Exams;

/// <summary>
/// Loads TruthfulQA.csv (columns Type, Category, Question, Best Answer, Correct Answers,
/// Incorrect Answers, Source) as MC1 questions: the best answer is the one correct choice
/// among the incorrect answers, in a seeded shuffled order so the right letter varies.
/// </summary>
public static class TruthfulQa
{
    public static IReadOnlyList<MultipleChoiceQuestion> LoadMc1(string csvPath, int seed = 0)
    {
        if (!File.Exists(csvPath)) throw new UserError($"File '{csvPath}' does not exist; pass TruthfulQA.csv.");
        // The BCL's CSV reader: TruthfulQA fields hold quoted commas and semicolons.
        using var parser = new TextFieldParser(csvPath) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true };
        parser.SetDelimiters(",");
        var header = parser.ReadFields() ?? throw new UserError($"'{csvPath}' is empty; pass TruthfulQA.csv.");
        int Column(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i
            : throw new UserError($"'{csvPath}' has no '{name}' column; pass the TruthfulQA.csv with its original header.");
        var (category, question, best, incorrect) = (Column("Category"), Column("Question"), Column("Best Answer"), Column("Incorrect Answers"));
        var random = new Random(seed);
        var questions = new List<MultipleChoiceQuestion>();
        while (!parser.EndOfData)
        {
            string[] fields;
            try { fields = parser.ReadFields() ?? []; }
            catch (MalformedLineException e) { throw new UserError($"{csvPath}:{e.LineNumber} is not valid CSV; fix that line."); }
            if (fields.Length < header.Length) continue;
            var wrong = fields[incorrect].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var choices = wrong.Prepend(fields[best].Trim()).Distinct().ToArray();
            if (choices.Length < 2) continue;
            var order = Enumerable.Range(0, choices.Length).OrderBy(_ => random.Next()).ToArray();
            questions.Add(new MultipleChoiceQuestion($"truthfulqa/{questions.Count}", fields[question].Trim(),
                order.Select(i => choices[i]).ToArray(), Array.IndexOf(order, 0), fields[category].Trim()));
        }
        if (questions.Count == 0) throw new UserError($"'{csvPath}' holds no usable questions; pass TruthfulQA.csv.");
        return questions;
    }
}
