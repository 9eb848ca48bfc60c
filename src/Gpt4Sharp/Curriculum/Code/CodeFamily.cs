using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gpt4Sharp.Curriculum.Code;

/// <summary>A task in the HumanEval JSONL shape.</summary>
public sealed record HumanEvalTask(string TaskId, string Prompt, string CanonicalSolution, string Test, string EntryPoint);

/// <summary>
/// Python function tasks in the HumanEval shape from parameterised templates in three tiers
/// (1 easy, 2 medium, 3 hard). The check runs the model's completion against the task's
/// tests through an <see cref="ICodeRunner"/>.
/// </summary>
public sealed partial class CodeFamily(ICodeRunner? runner = null) : CurriculumFamily
{
    readonly ICodeRunner _runner = runner ?? new Python3Runner();

    public static readonly string[] TierNames = ["easy", "medium", "hard"];

    public override string Name => "code";
    public override string Description => "Python function tasks in the HumanEval shape (easy/medium/hard templates) with check() tests.";
    // Templates have few parameter values each, so a larger share keeps every tier in eval.
    public override double EvalFraction => 0.2;

    public static int TemplateCount => CodeTemplates.All.Length;

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var tier = rng.Range(1, 3);
        var templates = CodeTemplates.All.Where(t => t.Tier == tier).ToArray();
        var spec = rng.Pick(templates).Make(rng);
        return Build(spec);
    }

    static CurriculumItem Build(CodeSpec spec)
    {
        var example = spec.Cases[0];
        var prompt = $"{spec.Signature}\n    \"\"\"{spec.Doc}\n    >>> {spec.Entry}({Py.Args(example.Args)})\n    {Py.Lit(example.Expected)}\n    \"\"\"\n";
        var solution = Indent(spec.Body) + "\n";
        var test = new StringBuilder("\n\ndef check(candidate):\n");
        foreach (var (args, expected) in spec.Cases)
            test.Append($"    assert candidate({Py.Args(args)}) == {Py.Lit(expected)}\n");
        var canonical = $"{spec.Template}|{spec.Params}";
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = spec.Template, Difficulty = spec.Tier,
            Prompt = prompt, Answer = solution, Response = $"```python\n{prompt}{solution}```",
            Canonical = canonical,
            Extra = new JsonObject
            {
                ["tier"] = TierNames[spec.Tier - 1],
                ["prompt"] = prompt,
                ["canonical_solution"] = solution,
                ["test"] = test.ToString(),
                ["entry_point"] = spec.Entry,
            },
        };
    }

    static string Indent(string body) => string.Join("\n", body.Split('\n').Select(l => "    " + l));

    public static HumanEvalTask ToHumanEval(CurriculumItem item) => new(
        item.Id, (string)item.Extra!["prompt"]!, (string)item.Extra["canonical_solution"]!,
        (string)item.Extra["test"]!, (string)item.Extra["entry_point"]!);

    [GeneratedRegex(@"```(?:python|py)?[ \t]*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();

    /// <summary>
    /// The program a completion is judged by: a fenced block is taken from the reply if
    /// present; code that defines the entry point stands alone, otherwise it is appended to
    /// the prompt as a function body (the HumanEval convention).
    /// </summary>
    public static string Program(HumanEvalTask task, string completion)
    {
        var fenced = Fence().Match(completion);
        var code = fenced.Success ? fenced.Groups["code"].Value : completion;
        var solution = Regex.IsMatch(code, $@"^\s*def\s+{Regex.Escape(task.EntryPoint)}\s*\(", RegexOptions.Multiline)
            ? code
            : task.Prompt + code;
        return $"{solution}\n{task.Test}\ncheck({task.EntryPoint})\n";
    }

    public override CheckResult Check(CurriculumItem item, string modelAnswer)
    {
        var task = ToHumanEval(item);
        if (!Regex.IsMatch(modelAnswer, @"\S")) return CheckResult.Wrong("empty completion");
        var result = _runner.Run(Program(task, modelAnswer), TimeSpan.FromSeconds(10));
        return result.Passed ? CheckResult.Right(result.Reason) : CheckResult.Wrong(result.Reason);
    }
}
