using System.Diagnostics;
using System.Text.Json.Nodes;
using Gpt4Sharp.Evaluation.Sandbox;

namespace Gpt4Sharp.Evaluation.Code;

/// <summary>Solved / total problems and mean pass@1 in one difficulty tier (the GPT-4 report's LeetCode table).</summary>
public sealed record TierScore(string Tier, int Solved, int Total, double PassAtOne);

public sealed record CodeEvalSummary(
    IReadOnlyDictionary<string, double> PassAtK,
    int Problems,
    int ProblemsWithSamples,
    int Samples,
    int Passed,
    int Failed,
    int TimedOut,
    int Crashed,
    IReadOnlyList<TierScore> Tiers,
    string TierRule,
    string Isolation,
    double Seconds);

/// <summary>
/// Scores HumanEval-format samples the way the public human-eval harness does: the program is
/// prompt + completion + "\n" + test + "\n" + "check(entry_point)", run once per sample with a
/// timer (3 s by default), "passed" iff it finishes without an exception; pass@k over tasks.
/// </summary>
public static class CodeHarness
{
    public const string TierRule = "a problem's \"difficulty\" field when present, otherwise the task_id up to its first '/'";

    public static string BuildProgram(CodeProblem problem, string completion) =>
        problem.Prompt + completion + "\n" + problem.Test + "\n" + $"check({problem.EntryPoint})";

    /// <summary>The public harness's results file name: the samples path with "_results.jsonl" appended.</summary>
    public static string ResultsPath(string samplesPath) => samplesPath + "_results.jsonl";

    public static async Task<(SandboxResult[] Results, CodeEvalSummary Summary)> EvaluateAsync(
        IReadOnlyList<CodeProblem> problems, IReadOnlyList<CodeSample> samples, IEnumerable<int> ks,
        PythonSandbox sandbox, int workers, Action<SandboxResult>? onResult = null, CancellationToken cancellationToken = default)
    {
        var byId = problems.ToDictionary(p => p.TaskId);
        foreach (var sample in samples)
            if (!byId.ContainsKey(sample.TaskId))
                throw new UserError($"Sample task_id '{sample.TaskId}' is not in the problem file; pass the problems the samples were generated for.");
        var clock = Stopwatch.StartNew();
        var programs = samples.Select(s => BuildProgram(byId[s.TaskId], s.Completion)).ToList();
        var results = await sandbox.RunManyAsync(programs, workers, humanEvalCompatible: true, onResult, cancellationToken);
        return (results, Summarize(problems, samples, results, ks, sandbox.Isolation, clock.Elapsed.TotalSeconds));
    }

    public static CodeEvalSummary Summarize(IReadOnlyList<CodeProblem> problems, IReadOnlyList<CodeSample> samples,
        IReadOnlyList<SandboxResult> results, IEnumerable<int> ks, string isolation, double seconds)
    {
        var perTask = samples.Zip(results).GroupBy(x => x.First.TaskId)
            .ToDictionary(g => g.Key, g => (Samples: g.Count(), Correct: g.Count(x => x.Second.Passed)));
        var passAtK = PassAtK.Summarize(perTask.Values.ToList(), ks);
        var tiers = problems.Where(p => perTask.ContainsKey(p.TaskId)).GroupBy(TierOf)
            .Select(g => new TierScore(g.Key, g.Count(p => perTask[p.TaskId].Correct > 0), g.Count(),
                g.Average(p => (double)perTask[p.TaskId].Correct / perTask[p.TaskId].Samples)))
            .OrderBy(t => t.Tier, StringComparer.Ordinal).ToList();
        return new CodeEvalSummary(passAtK, problems.Count, perTask.Count, samples.Count,
            results.Count(r => r.Verdict == SandboxVerdict.Passed), results.Count(r => r.Verdict == SandboxVerdict.Failed),
            results.Count(r => r.Verdict == SandboxVerdict.TimedOut), results.Count(r => r.Verdict == SandboxVerdict.Crashed),
            tiers, TierRule, isolation, seconds);
    }

    public static string TierOf(CodeProblem problem) =>
        !string.IsNullOrWhiteSpace(problem.Difficulty) ? problem.Difficulty
        : problem.TaskId.Contains('/') ? problem.TaskId[..problem.TaskId.IndexOf('/')] : "all";

    /// <summary>Each sample's original line plus "result" and "passed", in sample order, as the public harness writes them.</summary>
    public static IEnumerable<JsonObject> ResultLines(IReadOnlyList<CodeSample> samples, IReadOnlyList<SandboxResult> results) =>
        samples.Zip(results, (sample, result) =>
        {
            var line = (JsonObject)sample.Line.DeepClone();
            line["result"] = result.Result;
            line["passed"] = result.Passed;
            return line;
        });
}

/// <summary>Samples completions for code problems from a model, with the Codex paper's stop sequences.</summary>
public static class CodeGeneration
{
    /// <summary>Stops a completion at the end of the function body (Chen et al., 2021).</summary>
    public static readonly IReadOnlyList<string> StopSequences = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

    public static async Task<IReadOnlyList<CodeSample>> GenerateAsync(ICompletionModel model, IReadOnlyList<CodeProblem> problems,
        int samplesPerProblem, double temperature, int maxTokens, Action<CodeProblem>? onProblem = null, CancellationToken cancellationToken = default)
    {
        if (samplesPerProblem < 1) throw new UserError($"-n must be at least 1 (got {samplesPerProblem}).");
        var samples = new List<CodeSample>();
        foreach (var problem in problems)
        {
            var completions = await model.CompleteAsync(problem.Prompt, samplesPerProblem, temperature, maxTokens, StopSequences, cancellationToken);
            if (completions.Count != samplesPerProblem)
                throw new InvalidOperationException($"the model returned {completions.Count} completions for {problem.TaskId}, {samplesPerProblem} were asked for");
            samples.AddRange(completions.Select(c => new CodeSample(problem.TaskId, c, new JsonObject { ["task_id"] = problem.TaskId, ["completion"] = c })));
            onProblem?.Invoke(problem);
        }
        return samples;
    }
}
