using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Code;

namespace Gpt4Sharp.Tests.Curriculum;

public class CodeFamilyTests
{
    static readonly CodeFamily Code = new();
    static readonly Python3Runner Python = new();

    [Fact]
    public void Has_thirty_plus_templates_over_three_tiers_in_humaneval_shape()
    {
        Assert.True(CodeFamily.TemplateCount >= 30);
        var items = Code.Generate(1, Split.Train, 300).ToList();
        Assert.Equal([1, 2, 3], items.Select(i => i.Difficulty).Distinct().Order());
        foreach (var item in items.Take(20))
        {
            var task = CodeFamily.ToHumanEval(item);
            Assert.StartsWith($"def {task.EntryPoint}(", task.Prompt);
            Assert.Contains("\"\"\"", task.Prompt);
            Assert.Contains("def check(candidate):", task.Test);
            Assert.Equal(item.Id, task.TaskId);
        }
        Assert.Contains("\"task_id\"", CurriculumJson.ToLine(CodeFamily.ToHumanEval(items[0])));
    }

    /// <summary>One python3 run per template: every canonical solution passes its C#-computed tests.</summary>
    [Fact]
    public void Every_template_canonical_solution_passes_its_tests()
    {
        if (!Python3Runner.Available) return; // python3 absent: nothing to run the tests with
        var byTemplate = Code.Generate(2, Split.Train, 800).Concat(Code.Generate(2, Split.Eval, 100))
            .GroupBy(i => i.Kind).Select(g => g.First()).ToList();
        Assert.Equal(CodeFamily.TemplateCount, byTemplate.Count);
        // One process for all tasks keeps the test fast; each task runs in its own namespace.
        var program = string.Join("\n", byTemplate.Select((item, k) =>
        {
            var t = CodeFamily.ToHumanEval(item);
            var source = t.Prompt + t.CanonicalSolution + t.Test + $"\ncheck({t.EntryPoint})\n";
            return $"exec({Py.Lit(source)}, {{}})\nprint('ok {k}')";
        }));
        var result = Python.Run(program, TimeSpan.FromSeconds(30));
        Assert.True(result.Passed, result.Reason);
    }

    [Fact]
    public void Check_accepts_body_or_full_function_and_rejects_wrong_code()
    {
        if (!Python3Runner.Available) return;
        var item = Code.Generate(3, Split.Eval, 40).First(i => i.Kind is "edit_distance" or "coin_ways" or "min_coins" or "knapsack" or "lcs_length" or "lis_length" or "max_window_sum" or "grid_paths" or "shortest_path" or "count_islands" or "has_cycle");
        var task = CodeFamily.ToHumanEval(item);
        Assert.True(Code.Check(item, task.CanonicalSolution).Correct);
        Assert.True(Code.Check(item, $"Here you go:\n```python\n{task.Prompt}{task.CanonicalSolution}```").Correct);

        var wrongConstant = Code.Check(item, "    return None\n");
        Assert.False(wrongConstant.Correct);
        Assert.Equal("a test assertion failed", wrongConstant.Reason);
        // An almost-right solution: the canonical result perturbed by one.
        var offByOne = $"{task.Prompt}{task.CanonicalSolution}\n_orig = {task.EntryPoint}\ndef {task.EntryPoint}(*a):\n    r = _orig(*a)\n    return r + 1 if isinstance(r, int) and not isinstance(r, bool) else (not r if isinstance(r, bool) else r[:-1])\n";
        Assert.False(Code.Check(item, offByOne).Correct);
        Assert.Contains("SyntaxError", Code.Check(item, "    return (\n").Reason);
        Assert.Contains("NameError", Code.Check(item, "    return undefined_name\n").Reason);
        Assert.False(Code.Check(item, "   ").Correct);
    }

    [Fact]
    public void Runner_times_out_an_endless_loop()
    {
        if (!Python3Runner.Available) return;
        var result = Python.Run("while True:\n    pass\n", TimeSpan.FromSeconds(1));
        Assert.False(result.Passed);
        Assert.Contains("timed out", result.Reason);
    }

    [Fact]
    public void Python_literals_are_valid_python()
    {
        Assert.Equal("[1, -2]", Py.Lit(new List<int> { 1, -2 }));
        Assert.Equal("'it\\'s'", Py.Lit("it's"));
        Assert.Equal("True", Py.Lit(true));
        Assert.Equal("[[0, 1], []]", Py.Lit(new List<List<int>> { new() { 0, 1 }, new() }));
    }
}
