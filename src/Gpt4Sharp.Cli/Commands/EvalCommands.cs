using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Evaluation;
using Gpt4Sharp.Evaluation.Code;
using Gpt4Sharp.Evaluation.Exams;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary><c>gpt4sharp eval code|mc|gsm8k</c>: pass@k on HumanEval-format suites and exam-style suites.</summary>
public static class EvalCommands
{
    public static Command Create()
    {
        var eval = new Command("eval", "Evaluate models: pass@k on code suites (sandboxed), multiple-choice and exact-answer exams.");
        eval.Subcommands.Add(CodeCommand());
        eval.Subcommands.Add(MultipleChoiceCommand());
        eval.Subcommands.Add(Gsm8kCommand());
        return eval;
    }

    static Option<string> OutOption(string what) =>
        Cli.Opt("--out", "Run directory for results.json, report.html and run.json.", Path.Combine("runs", $"{what}-{DateTime.Now:yyyyMMdd-HHmmss}"));

    static Command CodeCommand()
    {
        var problems = Cli.Required<string>("--problems", "HumanEval-format problems (JSONL or .jsonl.gz).");
        var samples = Cli.Opt<string?>("--samples", "Samples JSONL (task_id, completion) to score.");
        var model = Cli.Opt<string?>("--model", "Model directory: generate samples with it, then score them.");
        var n = new Option<int>("--n", "-n") { Description = "Samples per problem when generating with --model.", DefaultValueFactory = _ => 20 };
        var ks = new Option<string>("--k", "-k") { Description = "Comma-separated k values for pass@k (reported only for k <= samples per task).", DefaultValueFactory = _ => "1,10,100" };
        var workers = Cli.Opt("--workers", "Sandboxed programs run in parallel.", Environment.ProcessorCount);
        var timeout = Cli.Opt("--timeout", "Seconds each program may run (the public harness uses 3).", 3.0);
        var temperature = Cli.Opt("--temperature", "Sampling temperature when generating.", 0.8);
        var maxTokens = Cli.Opt("--max-tokens", "Longest completion when generating, in tokens.", 512);
        var results = Cli.Opt<string?>("--results", "Per-sample results JSONL (default: SAMPLES_results.jsonl, as the public harness names it).");
        var python = Cli.Opt<string?>("--python", "Python interpreter for the sandbox (default: python3 on PATH).");
        var outDir = OutOption("eval-code");
        var command = new Command("code", "Score code samples by running their tests in the sandbox; report pass@k and solved/total per difficulty tier.")
        {
            problems, samples, model, n, ks, workers, timeout, temperature, maxTokens, results, python, outDir,
        };
        command.SetHandler(async (parse, ct) =>
        {
            var (samplesPath, modelDir) = (parse.GetValue(samples), parse.GetValue(model));
            if ((samplesPath is null) == (modelDir is null))
                throw new UserError("Pass exactly one of --samples FILE (score existing samples) or --model DIR (generate, then score).");
            var kValues = ParseKs(parse.GetValue(ks)!);
            var timeoutSeconds = parse.GetValue(timeout);
            if (timeoutSeconds <= 0) throw new UserError($"--timeout must be positive (got {timeoutSeconds}).");
            var run = parse.GetValue(outDir)!;
            var problemList = CodeFiles.LoadProblems(parse.GetValue(problems)!);
            var sandbox = new PythonSandbox(new SandboxOptions { Timeout = TimeSpan.FromSeconds(timeoutSeconds), Python = parse.GetValue(python) });

            IReadOnlyList<CodeSample> sampleList;
            if (modelDir is not null)
            {
                var completionModel = CompletionModels.Load(modelDir);
                var perProblem = parse.GetValue(n);
                sampleList = await WithProgress("generating", problemList.Count, tick =>
                    CodeGeneration.GenerateAsync(completionModel, problemList, perProblem, parse.GetValue(temperature), parse.GetValue(maxTokens), _ => tick(), ct));
                samplesPath = Path.Combine(run, "samples.jsonl");
                CodeFiles.WriteJsonLines(samplesPath, sampleList.Select(s => s.Line));
            }
            else sampleList = CodeFiles.LoadSamples(samplesPath!);

            var (verdicts, summary) = await WithProgress("sandbox", sampleList.Count, tick =>
                CodeHarness.EvaluateAsync(problemList, sampleList, kValues, sandbox, parse.GetValue(workers), _ => tick(), ct));

            var resultsPath = parse.GetValue(results) ?? CodeHarness.ResultsPath(samplesPath!);
            try { CodeFiles.WriteJsonLines(resultsPath, CodeHarness.ResultLines(sampleList, verdicts)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserError($"Cannot write results to '{resultsPath}' ({e.Message}); pass a writable path with --results.");
            }

            var config = new { Problems = parse.GetValue(problems), Samples = samplesPath, Model = modelDir, K = kValues, Workers = parse.GetValue(workers), TimeoutSeconds = timeoutSeconds };
            RunInfo.Capture("eval code", 0, config).Write(run);
            Results.Write(run, new { Suite = "code", config.Problems, config.Samples, ResultsFile = resultsPath, Summary = summary });
            var reportPath = CodeReport(summary, sampleList, verdicts, config.Problems!).Save(run);

            PrintCodeSummary(summary);
            AnsiConsole.MarkupLineInterpolated($"Per-sample results: [blue]{resultsPath}[/]");
            AnsiConsole.MarkupLineInterpolated($"Report: [blue]{reportPath}[/]");
            return 0;
        });
        return command;
    }

    static int[] ParseKs(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ks = new List<int>();
        foreach (var part in parts)
            ks.Add(int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0 ? k
                : throw new UserError($"-k takes comma-separated positive integers such as 1,10,100 (got '{text}')."));
        return ks.Count > 0 ? ks.ToArray() : throw new UserError("-k needs at least one value, such as 1,10,100.");
    }

    static Report CodeReport(CodeEvalSummary s, IReadOnlyList<CodeSample> samples, IReadOnlyList<SandboxResult> verdicts, string problemsFile)
    {
        var report = new Report("Code evaluation")
            .Section("Summary").KeyValues(("problems file", problemsFile), ("problems", s.Problems), ("problems with samples", s.ProblemsWithSamples),
                ("samples", s.Samples), ("passed", s.Passed), ("failed", s.Failed), ("timed out", s.TimedOut), ("crashed", s.Crashed),
                ("isolation", s.Isolation), ("seconds", s.Seconds))
            .Section("pass@k", "Unbiased estimator, mean over tasks; a k is reported only when every task has at least k samples.")
            .Table(["metric", "value"], s.PassAtK.Select(p => (IReadOnlyList<object?>)[p.Key, p.Value]));
        if (s.PassAtK.Count > 1)
            report.Chart(new Chart("pass@k", ChartKind.Line, "k", "pass@k",
                [new ChartSeries("pass@k", s.PassAtK.Keys.Select(k => double.Parse(k[5..], CultureInfo.InvariantCulture)).ToArray(), s.PassAtK.Values.ToArray())]) { LogX = true });
        report.Section("Difficulty tiers", $"Tier rule: {s.TierRule}. Solved: at least one sample passed.")
            .Table(["tier", "solved / total", "pass@1"], s.Tiers.Select(t => (IReadOnlyList<object?>)[t.Tier, $"{t.Solved} / {t.Total}", t.PassAtOne]))
            .Chart(Chart.Bars("Solved fraction per tier", "solved / total", s.Tiers.Select(t => t.Tier).ToArray(), s.Tiers.Select(t => (double)t.Solved / t.Total).ToArray()))
            .Section("Verdicts")
            .Chart(Chart.Bars("Sample verdicts", "samples", ["passed", "failed", "timed out", "crashed"], [s.Passed, s.Failed, s.TimedOut, s.Crashed]));
        var failures = samples.Zip(verdicts).Where(x => !x.Second.Passed).Take(50).ToList();
        if (failures.Count > 0)
            report.Section("First failures").Table(["task_id", "result"], failures.Select(f => (IReadOnlyList<object?>)[f.First.TaskId, f.Second.Result]));
        return report;
    }

    static void PrintCodeSummary(CodeEvalSummary s)
    {
        var passAtK = new Table().Title("pass@k").AddColumns("metric", "value");
        foreach (var (k, v) in s.PassAtK) passAtK.AddRow(k, v.ToString("0.0000", CultureInfo.InvariantCulture));
        if (s.PassAtK.Count == 0) passAtK.AddRow("(none)", "every k exceeds the samples per task");
        var tiers = new Table().Title("Solved per tier").AddColumns("tier", "solved / total", "pass@1");
        foreach (var t in s.Tiers) tiers.AddRow(Markup.Escape(t.Tier), $"{t.Solved} / {t.Total}", t.PassAtOne.ToString("0.000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(new Columns(passAtK, tiers));
        AnsiConsole.MarkupLineInterpolated($"{s.Samples} samples on {s.ProblemsWithSamples}/{s.Problems} problems: [green]{s.Passed} passed[/], {s.Failed} failed, {s.TimedOut} timed out, {s.Crashed} crashed in {s.Seconds:0.0} s.");
        if (s.ProblemsWithSamples < s.Problems)
            AnsiConsole.MarkupLineInterpolated($"[yellow]{s.Problems - s.ProblemsWithSamples} problems had no samples and are not in pass@k.[/]");
        AnsiConsole.MarkupLineInterpolated($"Isolation: {s.Isolation}");
    }

    static Command MultipleChoiceCommand()
    {
        var questions = Cli.Required<string>("--questions", "TruthfulQA.csv (scored as MC1: the best answer among the incorrect ones).");
        var model = Cli.Required<string>("--model", "Model directory.");
        var method = Cli.Opt("--method", "loglik (argmax answer log-likelihood), letter (generated letter) or both.", "both");
        var limit = Cli.Opt("--limit", "Score only the first N questions (0: all).", 0);
        var seed = Cli.Opt("--seed", "Seed for the order of the choices.", 0);
        var outDir = OutOption("eval-mc");
        var command = new Command("mc", "Multiple-choice exam (TruthfulQA MC1): accuracy by answer log-likelihood and by generated letter.")
        {
            questions, model, method, limit, seed, outDir,
        };
        command.SetHandler(async (parse, ct) =>
        {
            var methods = parse.GetValue(method) switch
            {
                "loglik" => [ChoiceMethod.LogLikelihood],
                "letter" => [ChoiceMethod.GeneratedLetter],
                "both" => new[] { ChoiceMethod.LogLikelihood, ChoiceMethod.GeneratedLetter },
                var other => throw new UserError($"--method must be loglik, letter or both (got '{other}')."),
            };
            var all = TruthfulQa.LoadMc1(parse.GetValue(questions)!, parse.GetValue(seed));
            var list = parse.GetValue(limit) is > 0 and var l ? all.Take(l).ToList() : all;
            var completionModel = CompletionModels.Load(parse.GetValue(model)!);
            var scores = new List<ExamScore>();
            foreach (var m in methods)
                scores.Add((await WithProgress(m.ToString(), list.Count, tick =>
                    MultipleChoice.ScoreAsync("truthfulqa-mc1", completionModel, list, m, _ => tick(), ct))).Score);
            FinishExam(parse.GetValue(outDir)!, "eval mc", new { Questions = parse.GetValue(questions), Model = parse.GetValue(model), Seed = parse.GetValue(seed), Limit = parse.GetValue(limit) }, parse.GetValue(seed), scores);
            return 0;
        });
        return command;
    }

    static Command Gsm8kCommand()
    {
        var problems = Cli.Required<string>("--problems", "GSM8K JSONL (question, answer ending '#### N').");
        var model = Cli.Required<string>("--model", "Model directory.");
        var limit = Cli.Opt("--limit", "Score only the first N problems (0: all).", 0);
        var maxTokens = Cli.Opt("--max-tokens", "Longest answer, in tokens.", 256);
        var outDir = OutOption("eval-gsm8k");
        var command = new Command("gsm8k", "Exact-answer exam on GSM8K: greedy answer, final number compared with the reference.")
        {
            problems, model, limit, maxTokens, outDir,
        };
        command.SetHandler(async (parse, ct) =>
        {
            var all = Gsm8k.Load(parse.GetValue(problems)!);
            var items = parse.GetValue(limit) is > 0 and var l ? all.Take(l).ToList() : all;
            var completionModel = CompletionModels.Load(parse.GetValue(model)!);
            var (_, score) = await WithProgress("gsm8k", items.Count, tick =>
                ExactAnswer.ScoreAsync("gsm8k", completionModel, items, parse.GetValue(maxTokens), ["\n\nQuestion:"], _ => tick(), ct));
            FinishExam(parse.GetValue(outDir)!, "eval gsm8k", new { Problems = parse.GetValue(problems), Model = parse.GetValue(model), Limit = parse.GetValue(limit) }, 0, [score]);
            return 0;
        });
        return command;
    }

    static void FinishExam(string run, string commandName, object config, long seed, IReadOnlyList<ExamScore> scores)
    {
        RunInfo.Capture(commandName, seed, config).Write(run);
        Results.Write(run, new
        {
            Suite = scores[0].Suite,
            Scores = scores.Select(s => new
            {
                s.Method, s.Total, s.Correct, s.Accuracy,
                ByCategory = s.ByCategory.ToDictionary(c => c.Key, c => new { c.Value.Correct, c.Value.Total, Accuracy = (double)c.Value.Correct / c.Value.Total }),
            }),
        });
        var report = new Report($"Exam: {scores[0].Suite}").Section("Accuracy")
            .Table(["method", "correct / total", "accuracy"], scores.Select(s => (IReadOnlyList<object?>)[s.Method, $"{s.Correct} / {s.Total}", s.Accuracy]))
            .Chart(Chart.Bars("Accuracy by method", "accuracy", scores.Select(s => s.Method).ToArray(), scores.Select(s => s.Accuracy).ToArray()));
        foreach (var s in scores)
            report.Section($"{s.Method}: by category").Table(["category", "correct / total", "accuracy"],
                s.ByCategory.Select(c => (IReadOnlyList<object?>)[c.Key, $"{c.Value.Correct} / {c.Value.Total}", (double)c.Value.Correct / c.Value.Total]));
        var reportPath = report.Save(run);

        var table = new Table().Title(Markup.Escape(scores[0].Suite)).AddColumns("method", "correct / total", "accuracy");
        foreach (var s in scores) table.AddRow(s.Method, $"{s.Correct} / {s.Total}", s.Accuracy.ToString("0.000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"Report: [blue]{reportPath}[/]");
    }

    /// <summary>Runs work that reports one tick per finished item under a Spectre progress bar.</summary>
    static Task<T> WithProgress<T>(string label, int total, Func<Action, Task<T>> work) =>
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total));
                var result = await work(() => task.Increment(1));
                task.Value = task.MaxValue;
                return result;
            });
}
