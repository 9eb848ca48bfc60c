using System.Text.RegularExpressions;

namespace Gpt4Sharp.Reasoning;

/// <summary>
/// A label-free check that a chain-of-thought path for a one-digit chain ("What is 9 + 4 + 3 - 5?")
/// works the question it was asked: one line per operation, line i taking the question's i-th
/// sign and operand and starting from the total the line before ended on (the question's first
/// number for line 1). It reads only the question and the path, never an answer, and it does not
/// check the arithmetic of a line. It catches the error the small models make most: losing their
/// place in the question and working a repeated or wrong operand ("9 + 4 = 13\n13 + 3 = 16\n16 + 3 = 19"),
/// an error most sampled paths share, so a majority vote alone keeps it.
/// An extension of Huang et al. 2022 (their filter is the vote alone); used only when asked for
/// (<see cref="SelfImprovementOptions.FaithfulPathsOnly"/>).
/// </summary>
public static partial class PathFidelity
{
    /// <summary>Families whose questions and worked steps have the shape this check reads.</summary>
    public static IReadOnlySet<string> Families { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "digit-chains", "ten-chains" };

    [GeneratedRegex(@"^What is (\d+)((?: [+-] \d+)+)\?$")]
    private static partial Regex Question();

    [GeneratedRegex(@" ([+-]) (\d+)")]
    private static partial Regex Operation();

    // "13 + 3 = 16", or through ten "8 + 5 = 8 + 2 + 3 = 13": start, sign, operand, then anything up to "= result".
    [GeneratedRegex(@"^(\d+) ([+-]) (\d+) = (?:.* = )?(\d+)$")]
    private static partial Regex Step();

    /// <summary>True when <paramref name="path"/> takes the question's operations in order from its first number, carrying each line's result to the next.</summary>
    public static bool FollowsQuestion(string question, string path)
    {
        var q = Question().Match(question.Trim());
        if (!q.Success) return false;
        var operations = Operation().Matches(q.Groups[2].Value).Select(m => (Sign: m.Groups[1].Value, Operand: m.Groups[2].Value)).ToList();
        var lines = path.Replace("\r", "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length != operations.Count) return false;
        var total = q.Groups[1].Value;
        for (int i = 0; i < lines.Length; i++)
        {
            var step = Step().Match(lines[i]);
            if (!step.Success || step.Groups[1].Value != total || step.Groups[2].Value != operations[i].Sign || step.Groups[3].Value != operations[i].Operand) return false;
            total = step.Groups[4].Value;
        }
        return true;
    }

    /// <summary>The number of operations of a chain question ("What is 9 + 4 + 3 - 5?" has 3), read from its text; 0 for any other text.</summary>
    public static int Operations(string question)
    {
        var q = Question().Match(question.Trim());
        return q.Success ? Operation().Matches(q.Groups[2].Value).Count : 0;
    }

    /// <summary>Refuses a family whose paths this check cannot read, with the fix.</summary>
    public static void EnsureSupported(string family)
    {
        if (!Families.Contains(family))
            throw new UserError($"The faithful-paths filter and the step-count options read one-digit chains only ({string.Join(", ", Families)}), not '{family}'; turn them off (--faithful-paths false, no --long-steps or --balance-steps) or choose one of those families.");
    }
}
