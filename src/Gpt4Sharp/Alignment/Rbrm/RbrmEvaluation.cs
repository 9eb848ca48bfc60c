using System.Text;

namespace Gpt4Sharp.Alignment.Rbrm;

/// <summary>A misclassified example, for the report.</summary>
public sealed record RbrmMistake(LabelledResponse Example, RbrmVerdict Verdict);

/// <summary>
/// How the rubric does on labelled responses: the 4×4 confusion matrix of responses (rows: true
/// class, columns: predicted), its accuracy, and the accuracy of the harmful/benign prompt rules.
/// </summary>
public sealed record RbrmReport(int[,] Matrix, int Total, double Accuracy, double PromptKindAccuracy, IReadOnlyList<RbrmMistake> Mistakes)
{
    public static readonly RbrmClass[] Classes = [RbrmClass.A, RbrmClass.B, RbrmClass.C, RbrmClass.D];

    public static RbrmReport Evaluate(RuleBasedRewardModel rbrm, IReadOnlyList<LabelledResponse> examples)
    {
        if (examples.Count == 0) throw new UserError("There are no labelled responses to evaluate the rubric on; ask for at least one.");
        var matrix = new int[4, 4];
        var mistakes = new List<RbrmMistake>();
        int kindRight = 0;
        foreach (var e in examples)
        {
            var verdict = rbrm.Classify(e.Response);
            matrix[(int)e.Label, (int)verdict.Class]++;
            if (verdict.Class != e.Label) mistakes.Add(new RbrmMistake(e, verdict));
            if (rbrm.ClassifyPrompt(e.Prompt).Kind == e.Kind) kindRight++;
        }
        int right = Enumerable.Range(0, 4).Sum(i => matrix[i, i]);
        return new RbrmReport(matrix, examples.Count, (double)right / examples.Count, (double)kindRight / examples.Count, mistakes);
    }

    /// <summary>The matrix as aligned text, rows = true class, columns = predicted class.</summary>
    public string MatrixText()
    {
        var sb = new StringBuilder("true\\pred      A      B      C      D\n");
        foreach (var row in Classes)
        {
            sb.Append($"{row,-9}");
            foreach (var col in Classes) sb.Append($"{Matrix[(int)row, (int)col],7}");
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
