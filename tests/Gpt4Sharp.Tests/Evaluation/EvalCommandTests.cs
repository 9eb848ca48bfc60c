using System.Text.Json.Nodes;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Evaluation;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Evaluation;

/// <summary>The verbs end to end: eval code writes the public harness's results file, results.json and a report; report compare reads two runs.</summary>
[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class EvalCommandTests
{
    static async Task<int> Invoke(System.CommandLine.Command command, params string[] args) =>
        await command.Parse(args).InvokeAsync();

    static string WriteProblems(string dir)
    {
        var path = Path.Combine(dir, "problems.jsonl");
        File.WriteAllLines(path,
        [
            """{"task_id": "easy/0", "prompt": "def one():\n", "test": "def check(candidate):\n    assert candidate() == 1", "entry_point": "one"}""",
            """{"task_id": "hard/0", "prompt": "def two():\n", "test": "def check(candidate):\n    assert candidate() == 2", "entry_point": "two"}""",
        ]);
        return path;
    }

    [Fact]
    public async Task EvalCodeScoresSamplesAndReportCompareDiffsTwoRuns()
    {
        if (PythonSandbox.FindOnPath("python3") is null) return; // python3 absent (./test.sh installs it)
        var dir = RepoPaths.NewTempDir();
        var problems = WriteProblems(dir);
        var samples = Path.Combine(dir, "samples.jsonl");
        File.WriteAllLines(samples,
        [
            """{"task_id": "easy/0", "completion": "    return 1"}""",
            """{"task_id": "easy/0", "completion": "    return 0"}""",
            """{"task_id": "hard/0", "completion": "    return 3"}""",
            """{"task_id": "hard/0", "completion": "    return 2 if 1 < 2 else 0"}""",
        ]);
        Assert.Equal(0, await Invoke(EvalCommands.Create(), "code", "--problems", problems, "--samples", samples, "-k", "1,2,5", "--workers", "2", "--out", Path.Combine(dir, "run1")));

        var lines = File.ReadAllLines(samples + "_results.jsonl").Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([true, false, false, true], lines.Select(l => (bool)l["passed"]!));
        Assert.Equal("failed: ", (string)lines[1]["result"]!);
        Assert.Contains("1 < 2", File.ReadAllLines(samples + "_results.jsonl")[3]); // code stays literal, as json.dumps writes it
        var results = Results.Read(Path.Combine(dir, "run1"));
        Assert.Equal(0.5, (double)results["summary"]!["pass_at_k"]!["pass@1"]!);
        Assert.Equal(1.0, (double)results["summary"]!["pass_at_k"]!["pass@2"]!);
        Assert.Null(results["summary"]!["pass_at_k"]!["pass@5"]);
        Assert.True(File.Exists(Path.Combine(dir, "run1", "report.html")));
        Assert.True(File.Exists(Path.Combine(dir, "run1", "run.json")));

        // A second run where every sample passes, then the comparison.
        File.WriteAllLines(samples, ["""{"task_id": "easy/0", "completion": "    return 1"}""", """{"task_id": "hard/0", "completion": "    return 2"}"""]);
        Assert.Equal(0, await Invoke(EvalCommands.Create(), "code", "--problems", problems, "--samples", samples, "-k", "1", "--out", Path.Combine(dir, "run2")));
        var compareDir = Path.Combine(dir, "compare");
        Assert.Equal(0, await Invoke(ReportCommands.Create(), "compare", Path.Combine(dir, "run1"), Path.Combine(dir, "run2", "results.json"), "--out", compareDir));
        var html = File.ReadAllText(Path.Combine(compareDir, "report.html"));
        Assert.Contains("summary.pass_at_k.pass@1", html);
    }

    [Fact]
    public async Task EvalCodeGeneratesWithARegisteredModelThenScores()
    {
        if (PythonSandbox.FindOnPath("python3") is null) return; // python3 absent (./test.sh installs it)
        var dir = RepoPaths.NewTempDir();
        var problems = WriteProblems(dir);
        Assert.Contains("holds no Gpt4Sharp checkpoint", Assert.Throws<UserError>(() => CompletionModels.Load(dir)).Message);
        string? loadedFrom = null;
        // Right for "one", wrong for "two": pass@1 = 0.5 over two problems.
        CompletionModels.RegisterLoader(path =>
        {
            loadedFrom = path;
            return new ScriptedModel(_ => ["    return 1\n"]);
        });
        try
        {
            var run = Path.Combine(dir, "run");
            Assert.Equal(0, await Invoke(EvalCommands.Create(), "code", "--problems", problems, "--model", dir, "-n", "3", "-k", "1,3", "--out", run));
            Assert.Equal(dir, loadedFrom);
            var lines = File.ReadAllLines(Path.Combine(run, "samples.jsonl_results.jsonl"));
            Assert.Equal(6, lines.Length);
            var results = Results.Read(run);
            Assert.Equal(0.5, (double)results["summary"]!["pass_at_k"]!["pass@1"]!);
            Assert.Equal(0.5, (double)results["summary"]!["pass_at_k"]!["pass@3"]!);
        }
        finally
        {
            CompletionModels.RegisterLoader(null);
        }
    }

    [Fact]
    public async Task BadInvocationsFailWithOneSentence()
    {
        var dir = RepoPaths.NewTempDir();
        var problems = WriteProblems(dir);
        var eval = EvalCommands.Create();
        Assert.Equal(1, await Invoke(eval, "code", "--problems", problems));                                    // neither --samples nor --model
        Assert.Equal(1, await Invoke(eval, "code", "--problems", problems, "--model", dir));                    // no loader registered
        Assert.Equal(1, await Invoke(eval, "code", "--problems", problems, "--samples", problems, "-k", "0,x")); // bad k
        Assert.Equal(1, await Invoke(ReportCommands.Create(), "compare", dir, dir));                            // no results.json
    }
}
