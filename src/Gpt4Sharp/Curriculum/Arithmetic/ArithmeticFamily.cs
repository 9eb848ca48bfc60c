using System.Globalization;
using System.Text;

namespace Gpt4Sharp.Curriculum.Arithmetic;

/// <summary>
/// Arithmetic chains ("What is 23 + 45 - 12?") and word problems with 1 to 6 reasoning
/// steps. Difficulty is the step count. The rationale shows one equation per step and the
/// reply ends with "answer: N".
/// </summary>
public sealed class ArithmeticFamily : CurriculumFamily
{
    public const int MaxSteps = 6;

    public override string Name => "arithmetic";
    public override string Description => "Arithmetic chains and word problems, 1-6 steps, chain-of-thought rationale, final 'answer: N'.";

    static readonly string[] Names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess"];
    static readonly string[] Objects = ["apples", "marbles", "stickers", "coins", "books", "cookies", "pencils", "shells", "stamps", "cards"];

    enum Op { Add, Sub, Mul, Div }

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var steps = rng.Range(1, MaxSteps);
        return rng.Chance(0.5) ? Chain(rng, steps) : WordProblem(rng, steps);
    }

    /// <summary>One step: an operation and operand chosen so the running value stays a whole number in [0, 999].</summary>
    static (Op Op, int K, long Next) Step(ItemRng rng, long current, bool allowMulDiv)
    {
        while (true)
        {
            var op = allowMulDiv ? (Op)rng.Next(4) : (Op)rng.Next(2);
            switch (op)
            {
                case Op.Add:
                    var a = rng.Range(1, 60);
                    if (current + a <= 999) return (op, a, current + a);
                    break;
                case Op.Sub:
                    if (current < 2) break;
                    var s = rng.Range(1, (int)Math.Min(current - 1, 60));
                    return (op, s, current - s);
                case Op.Mul:
                    var m = rng.Range(2, 4);
                    if (current * m <= 999) return (op, m, current * m);
                    break;
                case Op.Div:
                    var divisors = new[] { 2, 3, 4, 5 }.Where(d => current % d == 0 && current / d > 0).ToArray();
                    if (divisors.Length == 0) break;
                    var d2 = rng.Pick(divisors);
                    return (op, d2, current / d2);
            }
        }
    }

    static CurriculumItem Chain(ItemRng rng, int steps)
    {
        long current = rng.Range(1, 99);
        var expr = new StringBuilder(current.ToString(CultureInfo.InvariantCulture));
        var rationale = new StringBuilder();
        for (var i = 0; i < steps; i++)
        {
            // Left-to-right chains of + and - so the written expression means what the steps compute.
            var (op, k, next) = Step(rng, current, allowMulDiv: false);
            var sign = op == Op.Add ? '+' : '-';
            expr.Append(' ').Append(sign).Append(' ').Append(k);
            if (i > 0) rationale.Append('\n');
            rationale.Append(CultureInfo.InvariantCulture, $"{current} {sign} {k} = {next}");
            current = next;
        }
        var prompt = $"What is {expr}?";
        return Build("chain", steps, prompt, expr.ToString(), rationale.ToString(), current);
    }

    static CurriculumItem WordProblem(ItemRng rng, int steps)
    {
        var name = rng.Pick(Names);
        var obj = rng.Pick(Objects);
        long current = rng.Range(2, 40);
        var story = new StringBuilder($"{name} has {current} {obj}.");
        var rationale = new StringBuilder($"{name} starts with {current} {obj}.");
        var canonical = new StringBuilder($"{obj}|{current}");
        for (var i = 0; i < steps; i++)
        {
            var (op, k, next) = Step(rng, current, allowMulDiv: true);
            var (sentence, equation) = op switch
            {
                Op.Add => ($"Then {name} gets {k} more {obj}.", $"{current} + {k} = {next}"),
                Op.Sub => ($"Then {name} gives {k} {obj} to a friend.", $"{current} - {k} = {next}"),
                Op.Mul => (k == 2 ? $"Then the number of {obj} doubles." : $"Then the number of {obj} becomes {k} times as large.", $"{current} × {k} = {next}"),
                _ => ($"Then {name} splits the {obj} into {k} equal piles and keeps one pile.", $"{current} ÷ {k} = {next}"),
            };
            story.Append(' ').Append(sentence);
            rationale.Append(CultureInfo.InvariantCulture, $"\nStep {i + 1}: {equation}.");
            canonical.Append(CultureInfo.InvariantCulture, $"|{op}{k}");
            current = next;
        }
        story.Append(CultureInfo.InvariantCulture, $" How many {obj} does {name} have now?");
        return Build("word_problem", steps, story.ToString(), canonical.ToString(), rationale.ToString(), current);
    }

    static CurriculumItem Build(string kind, int steps, string prompt, string canonical, string rationale, long answer)
    {
        var a = answer.ToString(CultureInfo.InvariantCulture);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = kind, Difficulty = steps,
            Prompt = prompt, Answer = a, Rationale = rationale,
            Response = $"{rationale}\nanswer: {a}",
            Canonical = $"{kind}|{canonical}",
        };
    }

    public override CheckResult Check(CurriculumItem item, string modelAnswer) =>
        AnswerText.CheckInteger(modelAnswer, long.Parse(item.Answer, CultureInfo.InvariantCulture));
}
