using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Arithmetic;
using Gpt4Sharp.Reasoning;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>
/// The rotated-chains family: a chain has several correct derivations (going round from any added
/// term whose running totals stay in range), the training text shows them, and each is checked.
/// </summary>
public partial class RotatedChainFamilyTests
{
    const string Family = "rotated-chains";

    [GeneratedRegex(@"^(\d+) ([+-]) (\d) = (\d+)$")]
    private static partial Regex Equation();

    /// <summary>Signed terms of "What is 7 + 5 - 3?" or of "7 + 5 - 3": 7, 5, -3.</summary>
    static List<int> Terms(string expression)
    {
        var m = Regex.Match(expression, @"(\d+)((?: [+-] \d+)*)");
        return Regex.Matches(m.Groups[2].Value, @"([+-]) (\d+)").Select(t => (t.Groups[1].Value == "-" ? -1 : 1) * int.Parse(t.Groups[2].Value))
            .Prepend(int.Parse(m.Groups[1].Value)).ToList();
    }

    /// <summary>
    /// The value a path derives for the question, or null when it is not a valid derivation: the
    /// first line rewrites the chain from one of its added terms going round, and each further line
    /// is the next step of that chain, a correct fact with the total in [0, 19].
    /// </summary>
    static int? Derivation(string question, string path)
    {
        var terms = Terms(question);
        var lines = path.Split('\n');
        if (!Regex.IsMatch(lines[0], @"^\d+( [+-] \d+)*$")) return null;
        var rotated = Terms(lines[0]);
        bool isRotation = Enumerable.Range(0, terms.Count).Any(s => terms[s] >= 0 && RotatedChainFamily.Rotate(terms, s).SequenceEqual(rotated));
        if (!isRotation || lines.Length != terms.Count) return null;
        int total = rotated[0];
        for (int i = 1; i < lines.Length; i++)
        {
            var m = Equation().Match(lines[i]);
            if (!m.Success || int.Parse(m.Groups[1].Value) != total) return null;
            int k = (m.Groups[2].Value == "-" ? -1 : 1) * int.Parse(m.Groups[3].Value);
            if (k != rotated[i] || int.Parse(m.Groups[4].Value) != total + k || total + k is < 0 or > RotatedChainFamily.MaxTotal) return null;
            total += k;
        }
        return total;
    }

    static string PathFrom(IReadOnlyList<int> terms, int start)
    {
        var rotated = RotatedChainFamily.Rotate(terms, start);
        var lines = new List<string> { RotatedChainFamily.Expression(rotated) };
        int total = rotated[0];
        foreach (var t in rotated.Skip(1)) { lines.Add($"{total} {(t < 0 ? '-' : '+')} {Math.Abs(t)} = {total + t}"); total += t; }
        return string.Join('\n', lines);
    }

    [Fact]
    public void Every_rationale_is_a_valid_derivation_ending_in_the_answer()
    {
        var family = CurriculumRegistry.Get(Family);
        var items = family.Generate(3, Split.Train, 400).Concat(family.Generate(3, Split.Eval, 100)).ToList();
        foreach (var item in items)
        {
            var terms = Terms(item.Prompt);
            Assert.Equal(item.Difficulty + 1, terms.Count);
            Assert.InRange(item.Difficulty, 1, RotatedChainFamily.MaxSteps);
            Assert.Equal(terms.Sum().ToString(), item.Answer);
            Assert.Equal(terms.Sum(), Derivation(item.Prompt, item.Rationale!));
            Assert.True(family.Check(item, item.Response).Correct);
        }
        Assert.Contains(items, i => i.Answer == "19");
        Assert.Contains(items, i => i.Answer == "0");
    }

    [Fact]
    public void Every_valid_start_gives_a_derivation_and_the_checker_rejects_broken_ones()
    {
        var items = CurriculumRegistry.Get(Family).Generate(5, Split.Train, 300).Where(i => i.Difficulty >= 3).ToList();
        foreach (var item in items)
        {
            var terms = Terms(item.Prompt);
            var starts = RotatedChainFamily.ValidStarts(terms);
            Assert.Contains(0, starts); // the question's own order always works
            foreach (var s in starts) Assert.Equal(terms.Sum(), Derivation(item.Prompt, PathFrom(terms, s)));
            // Starting from a subtracted term, or from a start whose totals leave [0, 19], is not a derivation.
            foreach (var s in Enumerable.Range(0, terms.Count).Except(starts)) Assert.Null(Derivation(item.Prompt, PathFrom(terms, s)));
        }
        // Most multi-step chains have more than one valid start.
        Assert.True(items.Count(i => RotatedChainFamily.ValidStarts(Terms(i.Prompt)).Count > 1) > items.Count / 2);
        var item0 = items[0];
        var good = item0.Rationale!.Split('\n');
        Assert.Null(Derivation(item0.Prompt, string.Join('\n', good[..^1])));                                    // a step missing
        Assert.Null(Derivation(item0.Prompt, string.Join('\n', good.Take(1).Append(good[1] + "1").Concat(good.Skip(2))))); // a wrong fact
        Assert.Null(Derivation(item0.Prompt, string.Join('\n', good.Skip(1))));                                   // no rewritten chain
    }

    [Fact]
    public void The_training_text_solves_the_same_chain_from_different_starts()
    {
        var items = CurriculumRegistry.Get(Family).Generate(1, Split.Train, 3000).Where(i => i.Difficulty >= 3).ToList();
        var rotated = items.Count(i => i.Rationale!.Split('\n')[0] != i.Prompt["What is ".Length..^1]);
        Assert.InRange(rotated, items.Count / 3, items.Count * 9 / 10);
        var varied = items.GroupBy(i => i.Canonical).Count(g => g.Select(i => i.Rationale!.Split('\n')[0]).Distinct().Count() > 1);
        Assert.True(varied >= 5, $"{varied} chains with several derivations");
    }

    [Fact]
    public void No_rotation_of_a_held_out_question_is_a_training_question()
    {
        static string Cycle(string prompt)
        {
            var t = Terms(prompt);
            return Enumerable.Range(0, t.Count).Select(s => string.Join(",", RotatedChainFamily.Rotate(t, s))).Order(StringComparer.Ordinal).First();
        }
        var train = CurriculumRegistry.Get(Family).Generate(1, Split.Train, 3000).Select(i => Cycle(i.Prompt)).ToHashSet();
        var heldOut = ReasoningEvaluation.HeldOut(Family, 1, 300, 3);
        Assert.Equal(300, heldOut.Count);
        Assert.DoesNotContain(heldOut, i => train.Contains(Cycle(i.Prompt)));
    }

    [Fact]
    public void Answers_are_read_as_numbers()
    {
        Assert.True(AnswerExtraction.IsNumeric(Family));
        Assert.Equal("8", AnswerExtraction.Extract(Family, "5 - 1 + 4\n5 - 1 = 4\n4 + 4 = 8\nanswer: 8"));
    }
}
