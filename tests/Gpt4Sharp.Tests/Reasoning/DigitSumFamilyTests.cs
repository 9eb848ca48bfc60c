using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Arithmetic;
using Gpt4Sharp.Reasoning;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>
/// The digit-sums family: a problem has several correct derivations (the terms in any order), the
/// training text shows them in varied orders, and every one of them is a valid chain of facts.
/// </summary>
public partial class DigitSumFamilyTests
{
    const string Family = "digit-sums";

    [GeneratedRegex(@"^(\d+) \+ (\d) = (\d+)(?:; left (\d(?: \+ \d)*))?$")]
    private static partial Regex Equation();

    static List<int> Terms(string question) => Regex.Matches(question, @"\d+").Select(m => int.Parse(m.Value)).ToList();

    /// <summary>
    /// Whether <paramref name="path"/> derives the sum of <paramref name="question"/>: each line a
    /// correct one-digit addition continuing the previous total, the first total plus the added
    /// terms use up the question's terms exactly (in any order), and each line's "left" list is
    /// the multiset of terms still to add (none on the last line). Returns the final total, or null.
    /// </summary>
    static int? Derivation(string question, string path)
    {
        var left = Terms(question);
        int? total = null;
        foreach (var line in path.Split('\n'))
        {
            var m = Equation().Match(line);
            if (!m.Success) return null;
            int a = int.Parse(m.Groups[1].Value), k = int.Parse(m.Groups[2].Value), r = int.Parse(m.Groups[3].Value);
            if (a + k != r) return null;
            if (total is null && !left.Remove(a)) return null; // the first line starts from one of the terms
            if (total is { } t && t != a) return null;
            if (!left.Remove(k)) return null;
            var listed = m.Groups[4].Success ? Terms(m.Groups[4].Value) : [];
            if (!listed.Order().SequenceEqual(left.Order())) return null;
            total = r;
        }
        return left.Count == 0 ? total : null;
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
            Assert.InRange(item.Difficulty, 1, DigitSumFamily.MaxSteps);
            Assert.All(terms, t => Assert.InRange(t, 1, 9));
            Assert.Equal(terms.Sum().ToString(), item.Answer);
            Assert.InRange(terms.Sum(), 2, DigitSumFamily.MaxTotal);
            Assert.Equal(item.Difficulty, item.Rationale!.Split('\n').Length);
            Assert.Equal(terms.Sum(), Derivation(item.Prompt, item.Rationale));
            Assert.True(family.Check(item, item.Response).Correct);
        }
        Assert.Contains(items, i => i.Answer == DigitSumFamily.MaxTotal.ToString());
        Assert.Contains(items, i => i.Difficulty == DigitSumFamily.MaxSteps);
    }

    [Fact]
    public void Every_order_of_the_terms_is_a_valid_derivation_and_broken_ones_are_not()
    {
        var item = CurriculumRegistry.Get(Family).Generate(5, Split.Train, 50).First(i => i.Difficulty == 3 && Terms(i.Prompt).Distinct().Count() == 4);
        var terms = Terms(item.Prompt);
        var orders = Permutations(terms).ToList();
        Assert.Equal(24, orders.Count);
        foreach (var order in orders)
        {
            var lines = new List<string>();
            int total = order[0];
            for (int i = 1; i < order.Count; i++)
            {
                var remaining = order.Skip(i + 1).ToList();
                lines.Add($"{total} + {order[i]} = {total + order[i]}" + (remaining.Count > 0 ? $"; left {string.Join(" + ", remaining)}" : ""));
                total += order[i];
            }
            Assert.Equal(terms.Sum(), Derivation(item.Prompt, string.Join('\n', lines)));
        }
        // The checker is not a rubber stamp: a skipped term, a repeated term, a wrong fact and a wrong list all fail.
        var good = item.Rationale!.Split('\n');
        Assert.Null(Derivation(item.Prompt, string.Join('\n', good[..^1])));
        var first = Equation().Match(good[0]);
        var (a, k, rest) = (int.Parse(first.Groups[1].Value), int.Parse(first.Groups[2].Value), first.Groups[4].Value);
        Assert.Null(Derivation(item.Prompt, string.Join('\n', good.Skip(1).Prepend($"{a} + {a} = {2 * a}; left {rest}"))));
        Assert.Null(Derivation(item.Prompt, string.Join('\n', good.Skip(1).Prepend($"{a} + {k} = {a + k + 1}; left {rest}"))));
        Assert.Null(Derivation(item.Prompt, string.Join('\n', good.Skip(1).Prepend($"{a} + {k} = {a + k}; left {rest} + 1"))));
    }

    [Fact]
    public void The_training_text_solves_the_same_problem_along_different_paths()
    {
        var items = CurriculumRegistry.Get(Family).Generate(1, Split.Train, 3000).Where(i => i.Difficulty >= 3).ToList();
        // Rationales do not simply follow the question: most take the terms in another order.
        var reordered = items.Count(i => string.Join(" + ", Order(i.Rationale!)) != i.Prompt["What is ".Length..^1]);
        Assert.True(reordered > items.Count * 0.8, $"{reordered} of {items.Count} reordered");
        // Problems with the same terms appear with different derivations.
        var varied = items.GroupBy(i => i.Canonical).Count(g => g.Select(i => i.Rationale).Distinct().Count() > 1);
        Assert.True(varied >= 10, $"{varied} problems with several derivations");
    }

    [Fact]
    public void A_reordering_of_a_held_out_question_is_never_a_training_question()
    {
        var family = CurriculumRegistry.Get(Family);
        var train = family.Generate(1, Split.Train, 3000).Select(i => string.Join(",", Terms(i.Prompt).Order())).ToHashSet();
        var heldOut = ReasoningEvaluation.HeldOut(Family, 1, 300, 3);
        Assert.Equal(300, heldOut.Count);
        Assert.DoesNotContain(heldOut, i => train.Contains(string.Join(",", Terms(i.Prompt).Order())));
    }

    [Fact]
    public void Answers_are_read_as_numbers()
    {
        Assert.True(AnswerExtraction.IsNumeric(Family));
        Assert.Equal("17", AnswerExtraction.Extract(Family, "8 + 5 = 13\n13 + 4 = 17\nanswer: 17"));
    }

    static IEnumerable<int> Order(string rationale)
    {
        var lines = rationale.Split('\n').Select(l => Equation().Match(l)).ToList();
        return lines.Select(m => int.Parse(m.Groups[2].Value)).Prepend(int.Parse(lines[0].Groups[1].Value));
    }

    static IEnumerable<List<int>> Permutations(List<int> items) => items.Count <= 1
        ? [items]
        : items.SelectMany((x, i) => Permutations(items.Where((_, j) => j != i).ToList()).Select(rest => rest.Prepend(x).ToList()));
}
