using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Reasoning;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>
/// The ten-chains family: the digit-chains questions, with each step that crosses ten worked either
/// in one fact or through ten. Every combination of those choices is a valid derivation.
/// </summary>
public partial class TenChainFamilyTests
{
    const string Family = "ten-chains";

    [GeneratedRegex(@"^(\d+) ([+-]) (\d) = (?:(\d+) ([+-]) (\d) ([+-]) (\d) = )?(\d+)$")]
    private static partial Regex Step();

    static List<(char Sign, int K)> Operations(string question) =>
        Regex.Matches(question, @"([+-]) (\d)").Select(m => (m.Groups[1].Value[0], int.Parse(m.Groups[2].Value))).ToList();

    /// <summary>
    /// The value a path derives, or null: one line per operation of the question in order, each
    /// continuing the previous total, correct, in [0, 19], and any through-ten form really going
    /// through ten with the operand split in two.
    /// </summary>
    static int? Derivation(string question, string path)
    {
        var ops = Operations(question);
        var lines = path.Split('\n');
        if (lines.Length != ops.Count) return null;
        int total = int.Parse(Regex.Match(question, @"\d+").Value);
        for (int i = 0; i < lines.Length; i++)
        {
            var m = Step().Match(lines[i]);
            if (!m.Success || int.Parse(m.Groups[1].Value) != total || m.Groups[2].Value[0] != ops[i].Sign || int.Parse(m.Groups[3].Value) != ops[i].K) return null;
            int sign = ops[i].Sign == '+' ? 1 : -1, next = total + sign * ops[i].K;
            if (int.Parse(m.Groups[9].Value) != next || next is < 0 or > 19) return null;
            if (m.Groups[4].Success)
            {
                int t = int.Parse(m.Groups[6].Value), r = int.Parse(m.Groups[8].Value);
                bool same = int.Parse(m.Groups[4].Value) == total && m.Groups[5].Value[0] == ops[i].Sign && m.Groups[7].Value[0] == ops[i].Sign;
                if (!same || total + sign * t != 10 || t + r != ops[i].K || r < 1) return null;
            }
            total = next;
        }
        return total;
    }

    /// <summary>The path that works the steps whose index is in <paramref name="viaTen"/> through ten (when they cross it).</summary>
    static string PathWith(string question, ISet<int> viaTen)
    {
        var ops = Operations(question);
        int total = int.Parse(Regex.Match(question, @"\d+").Value);
        var lines = new List<string>();
        for (int i = 0; i < ops.Count; i++)
        {
            var (sign, k) = ops[i];
            int next = total + (sign == '+' ? k : -k), toTen = sign == '+' ? 10 - total : total - 10;
            lines.Add(viaTen.Contains(i) && toTen > 0 && toTen < k ? $"{total} {sign} {k} = {total} {sign} {toTen} {sign} {k - toTen} = {next}" : $"{total} {sign} {k} = {next}");
            total = next;
        }
        return string.Join('\n', lines);
    }

    [Fact]
    public void Every_rationale_is_a_valid_derivation_and_both_step_forms_occur()
    {
        var family = CurriculumRegistry.Get(Family);
        var items = family.Generate(3, Split.Train, 400).Concat(family.Generate(3, Split.Eval, 100)).ToList();
        foreach (var item in items)
        {
            Assert.Equal(item.Answer, Derivation(item.Prompt, item.Rationale!).ToString());
            Assert.True(family.Check(item, item.Response).Correct);
        }
        var lines = items.SelectMany(i => i.Rationale!.Split('\n')).Select(l => Step().Match(l)).ToList();
        var crossing = lines.Where(m => int.Parse(m.Groups[1].Value) is var a && int.Parse(m.Groups[9].Value) is var n && (a < 10 && n > 10 || a > 10 && n < 10)).ToList();
        int through = crossing.Count(m => m.Groups[4].Success);
        Assert.InRange(through, crossing.Count / 3, crossing.Count * 2 / 3); // about half of the crossing steps go through ten
        Assert.DoesNotContain(lines.Except(crossing), m => m.Groups[4].Success); // and only crossing steps can
    }

    [Fact]
    public void Every_choice_of_steps_through_ten_is_a_valid_derivation_and_broken_ones_are_not()
    {
        var items = CurriculumRegistry.Get(Family).Generate(5, Split.Train, 300).Where(i => i.Difficulty >= 3).ToList();
        int several = 0;
        foreach (var item in items)
        {
            var n = Operations(item.Prompt).Count;
            var paths = Enumerable.Range(0, 1 << n).Select(mask => PathWith(item.Prompt, Enumerable.Range(0, n).Where(i => (mask >> i & 1) == 1).ToHashSet())).Distinct().ToList();
            Assert.All(paths, p => Assert.Equal(item.Answer, Derivation(item.Prompt, p).ToString()));
            Assert.Contains(item.Rationale, paths);
            if (paths.Count > 1) several++;
        }
        Assert.True(several > items.Count / 2, $"{several} of {items.Count} questions have several derivations");
        // Not a rubber stamp: a split that misses ten, a wrong fact and a missing step all fail.
        Assert.Null(Derivation("What is 8 + 5?", "8 + 5 = 8 + 3 + 2 = 13"));
        Assert.Null(Derivation("What is 8 + 5?", "8 + 5 = 8 + 2 + 3 = 14"));
        Assert.Null(Derivation("What is 8 + 5 - 1?", "8 + 5 = 13"));
        Assert.Equal(12, Derivation("What is 8 + 5 - 1?", "8 + 5 = 8 + 2 + 3 = 13\n13 - 1 = 12"));
    }

    [Fact]
    public void Answers_are_read_as_numbers() =>
        Assert.Equal("13", AnswerExtraction.Extract(Family, "8 + 5 = 8 + 2 + 3 = 13\nanswer: 13"));
}
