using System.Globalization;
using System.Text;

namespace Gpt4Sharp.Curriculum.Arithmetic;

/// <summary>How a chain's worked solution is written; the questions and answers are the same in every layout.</summary>
public enum ChainLayout
{
    /// <summary>One equation per step from the running total: "9 + 4 = 13\n13 + 3 = 16\n16 - 5 = 11".</summary>
    Steps,
    /// <summary>
    /// The whole expression rewritten once per step, the rest of the chain carried along:
    /// "9 + 4 + 3 - 5\n= 13 + 3 - 5\n= 16 - 5\n= 11". Every operand is copied from the line just
    /// above rather than found again in the question, so the solver cannot lose its place.
    /// </summary>
    Rewrite,
}

/// <summary>
/// Chains of one-digit additions and subtractions ("What is 7 + 5 - 3 + 9?"), 1 to 6 steps,
/// with the running total kept in [0, 19]. Made for the reasoning demo: every single step is one
/// of 270 small facts a tiny model learns quickly, while answering a 3+ step chain in one
/// go means composing several of them at once, which a written chain of steps avoids. The
/// rationale is written in the chosen <see cref="ChainLayout"/> and the reply ends with "answer: N".
/// With <paramref name="throughTen"/> (the "ten-chains" family) the questions are the same but a
/// step that crosses ten is worked, at random, either in one fact ("8 + 5 = 13") or through ten
/// ("8 + 5 = 8 + 2 + 3 = 13", "13 - 5 = 13 - 3 - 2 = 8"; in the rewrite layout the expanded
/// expression gets a line of its own), so one problem has several correct derivations that differ
/// exactly at its hardest steps: the situation self-consistency needs. The layout draws nothing,
/// so items differ between layouts only in their rationale and response.
/// </summary>
public sealed class DigitChainFamily(bool throughTen = false, ChainLayout layout = ChainLayout.Steps) : CurriculumFamily
{
    public const int MaxSteps = 6;
    public const int MaxTotal = 19;

    public override string Name => throughTen ? "ten-chains" : "digit-chains";
    public override string Description => (throughTen
        ? "The digit-chains questions, with each step that crosses ten worked either directly or through ten (8 + 5 = 8 + 2 + 3 = 13), at random; "
        : "One-digit addition/subtraction chains, 1-6 steps, running total 0-19; ")
        + (layout == ChainLayout.Rewrite ? "the expression rewritten once per step with the rest carried along" : "one equation per step") + ", final 'answer: N'.";

    /// <summary>One step of a drawn chain: its signed operand and whether it is worked through ten.</summary>
    readonly record struct Step(int Term, bool ViaTen);

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var steps = rng.Range(1, MaxSteps);
        int start = rng.Range(0, 9), current = start;
        var chain = new List<Step>(steps);
        for (var i = 0; i < steps; i++)
        {
            int term = NextTerm(rng, current);
            // Through ten: first to 10 ("+ 2" from 8, "- 3" from 13), then the rest of the operand.
            int toTen = ToTen(current, term);
            chain.Add(new Step(term, throughTen && toTen > 0 && toTen < Math.Abs(term) && rng.Chance(0.5)));
            current += term;
        }
        var expr = start.ToString(CultureInfo.InvariantCulture) + Operations(chain.Select(s => s.Term));
        var answer = current.ToString(CultureInfo.InvariantCulture);
        var text = layout == ChainLayout.Rewrite ? Rewritten(start, chain) : Equations(start, chain);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "chain", Difficulty = steps,
            Prompt = $"What is {expr}?", Answer = answer, Rationale = text,
            Response = $"{text}\nanswer: {answer}",
            Canonical = $"chain|{expr}",
        };
    }

    /// <summary>The distance to ten in the step's direction (positive only when the step moves towards ten).</summary>
    static int ToTen(int current, int term) => term > 0 ? 10 - current : current - 10;

    /// <summary>" + 4 - 5 + 3" for the signed operands.</summary>
    static string Operations(IEnumerable<int> terms) =>
        string.Concat(terms.Select(t => string.Create(CultureInfo.InvariantCulture, $" {(t > 0 ? '+' : '-')} {Math.Abs(t)}")));

    /// <summary>The steps layout: "8 + 5 = 8 + 2 + 3 = 13\n13 - 7 = 6".</summary>
    static string Equations(int start, IReadOnlyList<Step> chain)
    {
        var text = new StringBuilder();
        int current = start;
        foreach (var (term, viaTen) in chain)
        {
            if (text.Length > 0) text.Append('\n');
            var op = Operations([term]);
            text.Append(CultureInfo.InvariantCulture, $"{current}{op} = ");
            if (viaTen) text.Append(CultureInfo.InvariantCulture, $"{current}{Split(current, term)} = ");
            current += term;
            text.Append(current.ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>The rewrite layout: "8 + 5 - 7\n= 8 + 2 + 3 - 7\n= 13 - 7\n= 6".</summary>
    static string Rewritten(int start, IReadOnlyList<Step> chain)
    {
        var text = new StringBuilder(start.ToString(CultureInfo.InvariantCulture)).Append(Operations(chain.Select(s => s.Term)));
        int current = start;
        for (int i = 0; i < chain.Count; i++)
        {
            var rest = Operations(chain.Skip(i + 1).Select(s => s.Term));
            if (chain[i].ViaTen) text.Append(CultureInfo.InvariantCulture, $"\n= {current}{Split(current, chain[i].Term)}{rest}");
            current += chain[i].Term;
            text.Append(CultureInfo.InvariantCulture, $"\n= {current}{rest}");
        }
        return text.ToString();
    }

    /// <summary>" + 2 + 3" for 8 + 5: the step to ten, then the rest of the operand, both with the step's sign.</summary>
    static string Split(int current, int term)
    {
        int toTen = ToTen(current, term), sign = Math.Sign(term);
        return Operations([sign * toTen, sign * (Math.Abs(term) - toTen)]);
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
