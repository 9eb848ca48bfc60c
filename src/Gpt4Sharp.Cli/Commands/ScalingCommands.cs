using System.CommandLine;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Training;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"scaling": predictable scaling — fit laws on small runs, predict a much larger one, then check.</summary>
public static class ScalingCommands
{
    public static Command Create()
    {
        var d = new ScalingSettings();
        var outDir = Cli.Opt("--out", "Sweep directory (shared data, one run per size, results.json, report.html); must be new or empty.", d.OutDirectory);
        var widths = new Option<int[]>("--widths")
        {
            Description = "Model widths of the fitted runs (space- or comma-separated).", DefaultValueFactory = _ => [.. d.FittedWidths],
            AllowMultipleArgumentsPerToken = true, CustomParser = r =>
            {
                var parts = r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToArray();
                if (parts.FirstOrDefault(x => !int.TryParse(x, out var w) || w <= 0) is { } bad)
                {
                    r.AddError($"--widths takes positive integers; '{bad}' is not one.");
                    return [];
                }
                return parts.Select(int.Parse).ToArray();
            },
        };
        var target = Cli.Opt("--target-width", "Width of the held-out run that is predicted before it trains.", d.TargetWidth);
        var layers = Cli.Opt("--layers", "Decoder layers (the same for every size).", d.Layers);
        var heads = Cli.Opt("--heads", "Attention heads at every width.", d.Heads);
        var ratio = Cli.Opt("--tokens-per-param", "Training tokens per parameter for every run.", d.TokensPerParameter);
        var minRatio = Cli.Opt("--min-compute-ratio", "Least compute of the held-out run relative to the largest fitted run.", d.MinComputeRatio);
        var vocab = Cli.Opt("--vocab", "BPE vocabulary shared by every run.", d.VocabSize);
        var docs = Cli.Opt("--corpus-docs", "Curriculum documents in the shared corpus.", d.CorpusDocuments);
        var codeShare = Cli.Opt("--code-share", "Share of code documents in the corpus.", d.CodeShare);
        var batch = Cli.Opt("--batch-size", "Sequences per step.", d.BatchSize);
        var seqLen = Cli.Opt("--seq-len", "Tokens per training sequence.", d.SequenceLength);
        var lr = Cli.Opt("--lr", "Peak learning rate.", d.LearningRate);
        var evalBatches = Cli.Opt("--eval-batches", "Validation batches for each run's final loss.", d.EvalBatches);
        var tier = Cli.Opt("--tier", "Code tier of the task metric: easy, medium or hard.", d.CodeTier);
        var problems = Cli.Opt("--problems", "Held-out code problems for the task metric.", d.CodeProblems);
        var samples = Cli.Opt("--samples", "Sampled completions per problem.", d.SamplesPerProblem);
        var temperature = Cli.Opt("--temperature", "Sampling temperature for the code completions.", d.Temperature);
        var seed = Cli.Opt("--seed", "Seed for data, initialisation and sampling.", d.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);

        var command = new Command("scaling", "Trains a sweep of small models with one recipe, fits L(C) = a·C^(−b) + c and a code metric law, predicts a run with 30x more compute before training it, then reports the errors.")
        {
            outDir, widths, target, layers, heads, ratio, minRatio, vocab, docs, codeShare, batch, seqLen, lr, evalBatches, tier, problems, samples, temperature, seed, device,
        };
        command.SetHandler(async (p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                OutDirectory = p.GetValue(outDir)!, FittedWidths = p.GetValue(widths)!, TargetWidth = p.GetValue(target), Layers = p.GetValue(layers),
                Heads = p.GetValue(heads), TokensPerParameter = p.GetValue(ratio), MinComputeRatio = p.GetValue(minRatio), VocabSize = p.GetValue(vocab),
                CorpusDocuments = p.GetValue(docs), CodeShare = p.GetValue(codeShare), BatchSize = p.GetValue(batch), SequenceLength = p.GetValue(seqLen),
                LearningRate = p.GetValue(lr), EvalBatches = p.GetValue(evalBatches), CodeTier = p.GetValue(tier)!, CodeProblems = p.GetValue(problems),
                SamplesPerProblem = p.GetValue(samples), Temperature = p.GetValue(temperature), Seed = p.GetValue(seed), Device = p.GetValue(device)!,
            };
            var result = await ScalingSweep.RunAsync(settings, new ConsoleObserver(), cancel);
            var report = ScalingReport.Save(result, Path.GetFullPath(settings.OutDirectory));
            PrintSummary(result);
            AnsiConsole.MarkupLineInterpolated($"Wrote {Path.Combine(Path.GetFullPath(settings.OutDirectory), Reporting.Results.FileName)} and {report}.");
            return 0;
        });
        return command;
    }

    sealed class ConsoleObserver : ISweepObserver
    {
        public void Log(string message) => AnsiConsole.MarkupLineInterpolated($"[grey]{message}[/]");

        public IProgress<TrainProgress>? RunStarting(SweepRunPlan plan)
        {
            AnsiConsole.MarkupLineInterpolated($"[bold]{plan.Name}[/]: {plan.Parameters:N0} parameters, {plan.Tokens:N0} tokens, {plan.Steps:N0} steps, {plan.Compute:G3} FLOPs");
            return new Callback<TrainProgress>(p =>
            {
                if (p.Step == p.Steps || p.Step % Math.Max(1, p.Steps / 4) == 0)
                    AnsiConsole.MarkupLineInterpolated($"[grey]  step {p.Step}/{p.Steps}  loss {p.Loss:F4}  {p.TokensPerSecond:F0} tok/s  ETA {p.Eta:mm\\:ss}{(p.ValidationLoss is { } v ? $"  val {v:F4}" : "")}[/]");
            });
        }

        public void RunFinished(SweepPoint point) =>
            AnsiConsole.MarkupLineInterpolated($"  -> final validation loss [bold]{point.FinalLoss:F4}[/], code: {point.Code.Passed}/{point.Code.Problems * point.Code.SamplesPerProblem} samples passed, −mean log pass rate {point.Code.MeanLogPassRate:F4} ({point.TrainSeconds:F0} s training)");

        public void Predicted(Prediction loss, Prediction code)
        {
            AnsiConsole.Write(new Rule("[yellow]prediction before training the held-out run[/]"));
            foreach (var p in new[] { loss, code })
                AnsiConsole.MarkupLineInterpolated($"{p.Metric}: fit {p.Fit.Law} (rmse {p.Fit.RootMeanSquareError:G3}) -> predicted [bold yellow]{p.Predicted:F4}[/] at {p.Compute:G3} FLOPs");
        }
    }

    static void PrintSummary(ScalingResult r)
    {
        var runs = new Table().Title("scaling sweep").AddColumns("run", "params", "tokens", "compute (FLOPs)", "final loss", "predicted loss", "−mean log pass", "predicted", "pass rate");
        foreach (var p in r.Points)
            runs.AddRow(p.Plan.Name + (p.Plan.HeldOut ? " (held out)" : ""), p.Plan.Parameters.ToString("N0"), p.TokensSeen.ToString("N0"), p.Compute.ToString("G3"),
                p.FinalLoss.ToString("F4"), p.Plan.HeldOut ? r.Loss.Predicted.ToString("F4") : r.Loss.Fit.Law.At(p.Compute).ToString("F4"),
                p.Code.MeanLogPassRate.ToString("F4"), p.Plan.HeldOut ? r.Code.Predicted.ToString("F4") : r.Code.Fit.Law.At(p.Compute).ToString("F4"),
                p.Code.MeanPassRate.ToString("P1"));
        AnsiConsole.Write(runs);
        var errors = new Table().Title($"held-out run: {r.ComputeRatio:F1}x the compute of the largest fitted run").AddColumns("metric", "predicted", "actual", "relative error");
        foreach (var p in new[] { r.Loss, r.Code })
            errors.AddRow(Markup.Escape(p.Metric), p.Predicted.ToString("F4"), p.Actual?.ToString("F4") ?? "—", p.RelativeError is { } e ? e.ToString("P2") : "—");
        AnsiConsole.Write(errors);
    }
}
