using System.Globalization;
using System.Text;

namespace Gpt4Sharp.Curriculum.Arithmetic;

/// <summary>
/// Sums of 2 to 7 one-digit numbers ("What is 3 + 8 + 1 + 5?"), 1 to 6 addition steps, total at
/// most 29. Unlike <see cref="DigitChainFamily"/>, a sum has many correct derivations: the terms
/// may be added in any order, and each item's rationale takes them in its own random order
/// ("8 + 5 = 13; left 3 + 1", "13 + 1 = 14; left 3", "14 + 3 = 17"), so the training text shows the same problem
/// solved along different paths. That is the situation self-consistency (Wang et al. 2022) is
/// for: sampled paths use different facts, so their mistakes differ and a vote can beat the single
/// greedy path. The held-out wall is on the multiset of terms, so no reordering of a held-out
/// question is ever a training item.
/// </summary>
public sealed class DigitSumFamily : CurriculumFamily
{
    public const int MaxSteps = 6;
    public const int MaxTotal = 29;

    public override string Name => "digit-sums";
    public override string Description => "Sums of 2-7 one-digit numbers (total at most 29), worked by adding the terms in a random order, one equation per step with the terms still left, final 'answer: N'.";

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var steps = rng.Range(1, MaxSteps);
        var terms = new int[steps + 1];
        // Redraw until the total fits: every partial sum of positive terms is then in range too, whatever the order.
        do
        {
            for (int i = 0; i < terms.Length; i++) terms[i] = rng.Range(1, 9);
        } while (terms.Sum() > MaxTotal);

        // The rationale adds the terms in a random order and, after each step, rewrites the terms
        // still to add (in question order): each line then only needs the line before it, so a
        // small model can follow any order without tracking which terms it has used.
        var order = Enumerable.Range(0, terms.Length).ToList();
        rng.Shuffle(order);
        var left = Enumerable.Range(0, terms.Length).ToList();
        var rationale = new StringBuilder();
        int total = terms[order[0]];
        left.Remove(order[0]);
        for (int i = 1; i < order.Count; i++)
        {
            int k = terms[order[i]];
            left.Remove(order[i]);
            if (i > 1) rationale.Append('\n');
            rationale.Append(CultureInfo.InvariantCulture, $"{total} + {k} = {total + k}");
            if (left.Count > 0) rationale.Append("; left ").AppendJoin(" + ", left.Select(j => terms[j]));
            total += k;
        }
        var answer = total.ToString(CultureInfo.InvariantCulture);
        var text = rationale.ToString();
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "sum", Difficulty = steps,
            Prompt = $"What is {string.Join(" + ", terms)}?", Answer = answer, Rationale = text,
            Response = $"{text}\nanswer: {answer}",
            Canonical = $"sum|{string.Join(",", terms.Order())}",
        };
    }

    public override CheckResult Check(CurriculumItem item, string modelAnswer) =>
        AnswerText.CheckInteger(modelAnswer, long.Parse(item.Answer, CultureInfo.InvariantCulture));
}
