using System.Globalization;
using System.Text;

namespace Gpt4Sharp.Curriculum.Arithmetic;

/// <summary>
/// Chains of one-digit additions and subtractions ("What is 7 + 5 - 3 + 9?"), 1 to 6 steps,
/// with the running total kept in [0, 19]. Made for the reasoning demo: every single step is one
/// of 270 small facts a tiny model learns quickly, while answering a 3+ step chain in one
/// go means composing several of them at once, which a written chain of steps avoids. The
/// rationale has one equation per step (as <see cref="ArithmeticFamily"/>'s chains) and the
/// reply ends with "answer: N".
/// With <paramref name="throughTen"/> (the "ten-chains" family) the questions are the same but a
/// step that crosses ten is worked, at random, either in one fact ("8 + 5 = 13") or through ten
/// ("8 + 5 = 8 + 2 + 3 = 13", "13 - 5 = 13 - 3 - 2 = 8"), so one problem has several correct
/// derivations that differ exactly at its hardest steps: the situation self-consistency needs.
/// </summary>
public sealed class DigitChainFamily(bool throughTen = false) : CurriculumFamily
{
    public const int MaxSteps = 6;
    public const int MaxTotal = 19;

    public override string Name => throughTen ? "ten-chains" : "digit-chains";
    public override string Description => throughTen
        ? "The digit-chains questions, with each step that crosses ten worked either directly or through ten (8 + 5 = 8 + 2 + 3 = 13), at random; final 'answer: N'."
        : "One-digit addition/subtraction chains, 1-6 steps, running total 0-19, one equation per step, final 'answer: N'.";

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var steps = rng.Range(1, MaxSteps);
        int current = rng.Range(0, 9);
        var expr = new StringBuilder(current.ToString(CultureInfo.InvariantCulture));
        var rationale = new StringBuilder();
        for (var i = 0; i < steps; i++)
        {
            int term = NextTerm(rng, current);
            bool add = term > 0;
            int k = Math.Abs(term);
            int next = current + term;
            var sign = add ? '+' : '-';
            expr.Append(' ').Append(sign).Append(' ').Append(k);
            if (i > 0) rationale.Append('\n');
            rationale.Append(CultureInfo.InvariantCulture, $"{current} {sign} {k} = ");
            // Through ten: first to 10 ("+ 2" from 8, "- 3" from 13), then the rest of k.
            int toTen = add ? 10 - current : current - 10;
            if (throughTen && toTen > 0 && toTen < k && rng.Chance(0.5))
                rationale.Append(CultureInfo.InvariantCulture, $"{current} {sign} {toTen} {sign} {k - toTen} = ");
            rationale.Append(next.ToString(CultureInfo.InvariantCulture));
            current = next;
        }
        var answer = current.ToString(CultureInfo.InvariantCulture);
        var text = rationale.ToString();
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "chain", Difficulty = steps,
            Prompt = $"What is {expr}?", Answer = answer, Rationale = text,
            Response = $"{text}\nanswer: {answer}",
            Canonical = $"chain|{expr}",
        };
    }

    public override CheckResult Check(CurriculumItem item, string modelAnswer) =>
        AnswerText.CheckInteger(modelAnswer, long.Parse(item.Answer, CultureInfo.InvariantCulture));

    /// <summary>One step's signed operand from the running total: a sign the total allows, then 1-9 keeping it in [0, MaxTotal].</summary>
    internal static int NextTerm(ItemRng rng, int current)
    {
        bool add = current < 1 || (current + 1 <= MaxTotal && rng.Chance(0.5));
        int k = add ? rng.Range(1, Math.Min(9, MaxTotal - current)) : rng.Range(1, Math.Min(9, current));
        return add ? k : -k;
    }
}
