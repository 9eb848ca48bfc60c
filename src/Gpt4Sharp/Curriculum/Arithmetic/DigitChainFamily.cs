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
/// </summary>
public sealed class DigitChainFamily : CurriculumFamily
{
    public const int MaxSteps = 6;
    public const int MaxTotal = 19;

    public override string Name => "digit-chains";
    public override string Description => "One-digit addition/subtraction chains, 1-6 steps, running total 0-19, one equation per step, final 'answer: N'.";

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var steps = rng.Range(1, MaxSteps);
        int current = rng.Range(0, 9);
        var expr = new StringBuilder(current.ToString(CultureInfo.InvariantCulture));
        var rationale = new StringBuilder();
        for (var i = 0; i < steps; i++)
        {
            // Each step picks a sign the total allows, then an operand 1-9 that keeps it in range.
            bool add = current < 1 || (current + 1 <= MaxTotal && rng.Chance(0.5));
            int k = add ? rng.Range(1, Math.Min(9, MaxTotal - current)) : rng.Range(1, Math.Min(9, current));
            int next = add ? current + k : current - k;
            var sign = add ? '+' : '-';
            expr.Append(' ').Append(sign).Append(' ').Append(k);
            if (i > 0) rationale.Append('\n');
            rationale.Append(CultureInfo.InvariantCulture, $"{current} {sign} {k} = {next}");
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
}
