using Gpt4Sharp.Evaluation;
using Gpt4Sharp.Evaluation.Code;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Evaluation;

public class CodeHarnessTests
{
    static string HumanEvalDir => Path.Combine(RepoPaths.SharedData, "humaneval");

    /// <summary>null when python3 is absent (./test.sh installs it): the test then returns early.</summary>
    static PythonSandbox? Sandbox() => PythonSandbox.FindOnPath("python3") is null ? null : new PythonSandbox();

    [Fact]
    public void ProgramIsBuiltExactlyAsThePublicHarnessDoes()
    {
        var problem = new CodeProblem("t/0", "def f():\n", null, "def check(candidate):\n    assert candidate() == 1", "f", null);
        Assert.Equal("def f():\n    return 1\ndef check(candidate):\n    assert candidate() == 1\ncheck(f)", CodeHarness.BuildProgram(problem, "    return 1"));
    }

    [Fact]
    public async Task ExampleSamplesGiveThePublicHarnessResultsLineByLine()
    {
        var problems = Path.Combine(HumanEvalDir, "example_problem.jsonl");
        if (!File.Exists(problems) || Sandbox() is not { } sandbox) return; // shared data or python3 absent
        var samplesPath = Path.Combine(RepoPaths.NewTempDir(), "example_samples.jsonl");
        File.Copy(Path.Combine(HumanEvalDir, "example_samples.jsonl"), samplesPath);
        var samples = CodeFiles.LoadSamples(samplesPath);
        var (results, summary) = await CodeHarness.EvaluateAsync(CodeFiles.LoadProblems(problems), samples, [1, 10], sandbox, workers: 2);
        CodeFiles.WriteJsonLines(CodeHarness.ResultsPath(samplesPath), CodeHarness.ResultLines(samples, results));

        // The public harness's documented output for these six samples.
        string[] expected = ["failed: 'NoneType' object is not callable", "timed out", "failed: ", "passed", "passed", "passed"];
        var written = CodeFiles.ReadJsonLines(samplesPath + "_results.jsonl").Select(x => x.Line).ToList();
        Assert.Equal(expected, written.Select(l => (string)l["result"]!));
        Assert.Equal(expected.Select(e => e == "passed"), written.Select(l => (bool)l["passed"]!));
        Assert.Equal(samples.Select(s => s.Completion), written.Select(l => (string)l["completion"]!));
        Assert.Equal(0.5, summary.PassAtK["pass@1"], 12);
        Assert.False(summary.PassAtK.ContainsKey("pass@10")); // only 6 samples: k=10 is not reported
    }

    [Fact]
    public async Task HumanEvalCanonicalSolutionsPassAndBrokenOnesFail()
    {
        var path = Path.Combine(HumanEvalDir, "HumanEval.jsonl.gz");
        if (!File.Exists(path) || Sandbox() is not { } sandbox) return; // shared data or python3 absent
        var problems = CodeFiles.LoadProblems(path);
        Assert.Equal(164, problems.Count);
        // Every fourth problem keeps the test near 30 s on two cores; the README records a full run.
        var subset = problems.Where((_, i) => i % 4 == 0).ToList();
        var samples = subset.SelectMany(p => new[]
        {
            Sample(p, p.CanonicalSolution!),
            Sample(p, "    return None\n"),
            Sample(p, "    raise NotImplementedError\n"),
            Sample(p, p.CanonicalSolution! + "  x = (\n"), // syntax error
        }).ToList();
        var (results, summary) = await CodeHarness.EvaluateAsync(problems, samples, [1], sandbox, workers: 2);
        for (var i = 0; i < samples.Count; i++)
        {
            if (i % 4 == 0) Assert.True(results[i].Passed, $"{samples[i].TaskId} canonical: {results[i].Result}");
            else Assert.False(results[i].Passed, $"{samples[i].TaskId} broken sample {i % 4} passed");
        }
        Assert.Equal(0.25, summary.PassAtK["pass@1"], 12);
        Assert.Equal([new TierScore("HumanEval", subset.Count, subset.Count, 0.25)], summary.Tiers);
    }

    [Fact]
    public async Task MbppConvertsToHumanEvalFormatAndItsReferenceCodePasses()
    {
        var path = Path.Combine(RepoPaths.SharedData, "mbpp", "mbpp.jsonl");
        if (!File.Exists(path) || Sandbox() is not { } sandbox) return; // shared data or python3 absent
        var problems = CodeFiles.LoadProblems(path);
        Assert.Equal(974, problems.Count);
        // Every 20th problem, plus those whose reference code defines its own check().
        string[] ownCheck = ["MBPP/56", "MBPP/349", "MBPP/899"];
        var subset = problems.Where((p, i) => i % 20 == 0 || ownCheck.Contains(p.TaskId)).ToList();
        var samples = subset.SelectMany(p => new[] { Sample(p, p.CanonicalSolution!), Sample(p, "def unrelated():\n    pass\n") }).ToList();
        var (results, _) = await CodeHarness.EvaluateAsync(problems, samples, [1], sandbox, workers: 2);
        for (var i = 0; i < samples.Count; i++)
            Assert.True(results[i].Passed == (i % 2 == 0), $"{samples[i].TaskId} sample {i % 2}: {results[i].Result}");
    }

    static CodeSample Sample(CodeProblem p, string completion) =>
        new(p.TaskId, completion, new System.Text.Json.Nodes.JsonObject { ["task_id"] = p.TaskId, ["completion"] = completion });

    [Fact]
    public async Task GeneratedSamplesAreScoredAndTieredByDifficulty()
    {
        if (Sandbox() is not { } sandbox) return;
        CodeProblem Problem(string id, string difficulty, int answer) =>
            new(id, $"def f():\n", null, $"def check(candidate):\n    assert candidate() == {answer}", "f", difficulty);
        var problems = new[] { Problem("lc/1", "easy", 1), Problem("lc/2", "easy", 2), Problem("lc/3", "hard", 3) };
        var model = new ScriptedModel(prompt => ["    return 1\n", "    return 2\n"]);
        var samples = await CodeGeneration.GenerateAsync(model, problems, samplesPerProblem: 2, temperature: 0.8, maxTokens: 64);
        Assert.Equal(6, samples.Count);
        Assert.Equal(CodeGeneration.StopSequences, model.LastStop);
        var (_, summary) = await CodeHarness.EvaluateAsync(problems, samples, [1, 2], sandbox, workers: 2);
        Assert.Equal([new TierScore("easy", 2, 2, 0.5), new TierScore("hard", 0, 1, 0.0)], summary.Tiers);
        Assert.Equal(1.0 / 3, summary.PassAtK["pass@1"], 12);
        Assert.Equal(2.0 / 3, summary.PassAtK["pass@2"], 12);
    }

    [Fact]
    public void BadFilesAreClearUserErrors()
    {
        var dir = RepoPaths.NewTempDir();
        var bad = Path.Combine(dir, "bad.jsonl");
        File.WriteAllText(bad, "{\"task_id\": \"a\", \"prompt\": \"x\"}\nnot json\n");
        Assert.Contains("lacks the string field 'test'", Assert.Throws<UserError>(() => CodeFiles.LoadProblems(bad)).Message);
        File.WriteAllText(bad, "{\"task_id\": \"a\", \"completion\": \"x\"}\nnot json\n");
        Assert.Contains("bad.jsonl:2 is not valid JSON", Assert.Throws<UserError>(() => CodeFiles.LoadSamples(bad)).Message);
        Assert.Throws<UserError>(() => CodeFiles.LoadProblems(Path.Combine(dir, "missing.jsonl")));
        var gz = Path.Combine(dir, "broken.jsonl.gz");
        File.WriteAllText(gz, "plain text, not gzip");
        Assert.Contains("not a valid gzip", Assert.Throws<UserError>(() => CodeFiles.LoadProblems(gz)).Message);
    }
}

/// <summary>A fake model: completions from a function of the prompt; log-likelihoods from a table.</summary>
sealed class ScriptedModel(Func<string, IReadOnlyList<string>> complete, Func<string, string, double>? logLikelihood = null) : ICompletionModel
{
    public IReadOnlyList<string>? LastStop { get; private set; }

    public Task<IReadOnlyList<string>> CompleteAsync(string prompt, int n, double temperature, int maxTokens, IReadOnlyList<string> stop, CancellationToken cancellationToken)
    {
        LastStop = stop;
        var options = complete(prompt);
        return Task.FromResult<IReadOnlyList<string>>(Enumerable.Range(0, n).Select(i => options[i % options.Count]).ToList());
    }

    public double LogLikelihood(string context, string continuation) =>
        (logLikelihood ?? throw new NotSupportedException("no log-likelihoods scripted"))(context, continuation);
}
