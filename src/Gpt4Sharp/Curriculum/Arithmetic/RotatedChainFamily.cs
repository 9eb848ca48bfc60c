using System.Globalization;
using System.Text;

namespace Gpt4Sharp.Curriculum.Arithmetic;

/// <summary>
/// The questions of <see cref="DigitChainFamily"/> ("What is 7 + 5 - 3 + 9?", 1 to 6 one-digit
/// steps, running total in [0, 19]) with several correct derivations: a chain of signed terms may
/// be summed starting from any of its added terms and going round (7 + 5 - 3 + 9 is also
/// 9 + 7 + 5 - 3 and 5 - 3 + 9 + 7). The rationale first rewrites the chain from a start chosen at
/// random among those whose running totals all stay in [0, 19], then works that chain left to
/// right, one equation per step. The training text therefore solves one problem along different
/// paths that use different facts, which is what lets self-consistency (Wang et al. 2022) beat the
/// single greedy path; the start is one token, so the choice costs the model no bookkeeping. The
/// held-out wall is on the chain up to rotation, so no rotation of a held-out question is trained on.
/// </summary>
public sealed class RotatedChainFamily : CurriculumFamily
{
    public const int MaxSteps = DigitChainFamily.MaxSteps;
    public const int MaxTotal = DigitChainFamily.MaxTotal;

    public override string Name => "rotated-chains";
    public override string Description => "One-digit addition/subtraction chains, 1-6 steps, running total 0-19, worked from a random valid starting term going round: the rewritten chain, one equation per step, final 'answer: N'.";

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var steps = rng.Range(1, MaxSteps);
        // Signed terms; the first is the chain's starting number, added like the rest.
        var terms = new List<int> { rng.Range(0, 9) };
        int current = terms[0];
        for (var i = 0; i < steps; i++)
        {
            terms.Add(DigitChainFamily.NextTerm(rng, current));
            current += terms[^1];
        }
        var starts = ValidStarts(terms);
        var rotated = Rotate(terms, rng.Pick(starts));

        var rationale = new StringBuilder(Expression(rotated));
        int total = rotated[0];
        foreach (var term in rotated.Skip(1))
        {
            rationale.Append(CultureInfo.InvariantCulture, $"\n{total} {(term < 0 ? '-' : '+')} {Math.Abs(term)} = {total + term}");
            total += term;
        }
        var answer = total.ToString(CultureInfo.InvariantCulture);
        var text = rationale.ToString();
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "chain", Difficulty = steps,
            Prompt = $"What is {Expression(terms)}?", Answer = answer, Rationale = text,
            Response = $"{text}\nanswer: {answer}",
            Canonical = $"cycle|{Canonical(terms)}",
        };
    }

    public override CheckResult Check(CurriculumItem item, string modelAnswer) =>
        AnswerText.CheckInteger(modelAnswer, long.Parse(item.Answer, CultureInfo.InvariantCulture));

    /// <summary>Indices of the non-negative terms from which going round keeps every running total in [0, MaxTotal] (0 always qualifies).</summary>
    public static IReadOnlyList<int> ValidStarts(IReadOnlyList<int> terms) =>
        Enumerable.Range(0, terms.Count).Where(s => terms[s] >= 0 && Rotate(terms, s).Aggregate((Total: 0, Ok: true), (acc, t) =>
            (acc.Total + t, acc.Ok && acc.Total + t is >= 0 and <= MaxTotal)).Ok).ToList();

    public static List<int> Rotate(IReadOnlyList<int> terms, int start) => [.. terms.Skip(start), .. terms.Take(start)];

    /// <summary>"7 + 5 - 3 + 9" for the terms 7, 5, -3, 9 (the first term written unsigned).</summary>
    public static string Expression(IReadOnlyList<int> terms)
    {
        var sb = new StringBuilder(terms[0].ToString(CultureInfo.InvariantCulture));
        foreach (var t in terms.Skip(1)) sb.Append(CultureInfo.InvariantCulture, $" {(t < 0 ? '-' : '+')} {Math.Abs(t)}");
        return sb.ToString();
    }

    // The smallest rotation, so every rotation of a chain lands in the same split.
    static string Canonical(IReadOnlyList<int> terms) =>
        Enumerable.Range(0, terms.Count).Select(s => string.Join(",", Rotate(terms, s))).Order(StringComparer.Ordinal).First();
}
