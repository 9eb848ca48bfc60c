using Gpt4Sharp.Runtime;
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
        var outDir = Cli.Opt("--out", "Sweep directory (settings, shared data, each finished run's results, results.json, report.html); must be new or empty unless --resume.", d.OutDirectory);
        var resume = Cli.Opt("--resume", "Continue the interrupted sweep in --out (the same settings; --workers and --held-out-seeds may differ): finished runs are reused, the rest train.", d.Resume);
        var workers = Cli.Opt("--workers", "Runs trained at once in this process, each with an equal share of libtorch's threads (at least one); at equal threads per run the results do not depend on it. With many cores pass about the number of cores: small models use many threads poorly.", d.Workers);
        var heldOutSeeds = Cli.Opt("--held-out-seeds", "Seeds of the held-out run (S, S+1, ...); its actual values are their means. Each costs the held-out run's compute again.", d.HeldOutSeeds);
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
        var ratio = Cli.Opt("--tokens-per-param", "Fitted compute (the largest budget): the FLOPs the largest fitted width needs for this many tokens per parameter.", d.TokensPerParameter);
        var budgets = Cli.Opt("--budgets", "Log-spaced compute budgets of the IsoFLOP grid, up to the fitted compute.", d.FrontierPoints);
        var minTpp = Cli.Opt("--min-tokens-per-param", "A width trains at a budget only if it sees at least this many tokens per parameter there.", d.MinTokensPerParameter);
        var maxTpp = Cli.Opt("--max-tokens-per-param", "... and at most this many.", d.MaxTokensPerParameter);
        var minRatio = Cli.Opt("--min-compute-ratio", "Compute of the held-out run relative to the largest fitted run.", d.MinComputeRatio);
        var vocab = Cli.Opt("--vocab", "BPE vocabulary shared by every run.", d.VocabSize);
        var docs = Cli.Opt("--corpus-docs", "Curriculum documents in the shared corpus.", d.CorpusDocuments);
        var codeShare = Cli.Opt("--code-share", "Share of code documents in the corpus.", d.CodeShare);
        var batch = Cli.Opt("--batch-size", "Sequences per step.", d.BatchSize);
        var seqLen = Cli.Opt("--seq-len", "Tokens per training sequence.", d.SequenceLength);
        var lr = Cli.Opt("--lr", "Peak learning rate at the base width (--lr-base-width).", d.LearningRate);
        var lrBase = Cli.Opt("--lr-base-width", "Width at which the peak learning rate is --lr.", d.LearningRateBaseWidth);
        var lrExponent = Cli.Opt("--lr-width-exponent", "Width w trains with --lr·(base width / w)^this (1 = µP's rule for Adam, 0 = one rate for every width).", d.LearningRateWidthExponent);
        var warmup = Cli.Opt("--warmup", "Warmup steps (the same for every run).", d.WarmupSteps);
        var minLr = Cli.Opt("--min-lr-ratio", "Each run's learning rate decays by a cosine to this share of the peak at its last step (1 = constant).", d.MinLearningRateRatio);
        var averageFraction = Cli.Opt("--average-fraction", "Measure an EMA of the weights whose window is this share of the steps so far (0 = raw weights).", d.AverageFraction);
        var headlineByBacktest = Cli.Opt("--headline-by-backtest", "Let the backtests choose the headline loss predictor between the frontier law and L(N, D) (default: the mixture of per-family laws).", d.HeadlineByBacktest);
        var frontierHeadline = Cli.Opt("--frontier-headline", "Make the single frontier law L(C) the headline loss predictor again, as before session 9 (default: the mixture of per-family laws).", d.FrontierHeadline);
        var fitSeeds = Cli.Opt("--fit-seeds", "Seeds per fitted run; the laws see each run's mean over its seeds.", d.FitSeeds);
        var evalBatches = Cli.Opt("--eval-batches", "Validation batches for every loss measurement.", d.EvalBatches);
        var curvePoints = Cli.Opt("--curve-points", "Log-spaced measurements along each run's learning curve (for the chart; the laws use the final one).", d.CurvePoints);
        var budgetSpan = Cli.Opt("--budget-span", "The IsoFLOP grid's compute budgets span from the fitted compute divided by this up to the fitted compute.", d.BudgetSpan);
        var span = Cli.Opt("--frontier-span", "Fit the laws on the budgets from the fitted compute divided by this up to the fitted compute.", d.FrontierSpan);
        var tier = Cli.Opt("--tier", "Code tier of the task metric: easy, medium or hard.", d.CodeTier);
        var reference = Cli.Opt("--reference-problems", "Held-out code problems whose reference solutions' likelihood is the continuous code metric.", d.ReferenceProblems);
        var problems = Cli.Opt("--problems", "Held-out code problems sampled for the pass rate at the end of each run.", d.CodeProblems);
        var samples = Cli.Opt("--samples", "Sampled completions per problem.", d.SamplesPerProblem);
        var temperature = Cli.Opt("--temperature", "Sampling temperature for the code completions.", d.Temperature);
        var seed = Cli.Opt("--seed", "Seed for data, initialisation and sampling.", d.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);

        var command = new Command("scaling", "Trains an IsoFLOP grid of small models with one recipe (each run's learning rate decays over its own length), fits L(C) = a·C^(−b) + c and a code-metric law on the compute-efficient frontier of the final values and Chinchilla's L(N, D) on every run, prints backtests, predicts a run with 30x more compute before training it, then reports the errors.")
        {
            outDir, widths, target, layers, heads, ratio, budgets, minTpp, maxTpp, minRatio, vocab, docs, codeShare, batch, seqLen, lr, lrBase, lrExponent, warmup, minLr, averageFraction, headlineByBacktest, frontierHeadline, fitSeeds, evalBatches, curvePoints, budgetSpan, span,
            tier, reference, problems, samples, temperature, seed, device, heldOutSeeds, workers, resume,
        };
        command.SetHandler(async (p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                OutDirectory = p.GetValue(outDir)!, FittedWidths = p.GetValue(widths)!, TargetWidth = p.GetValue(target), Layers = p.GetValue(layers),
                Heads = p.GetValue(heads), TokensPerParameter = p.GetValue(ratio), FrontierPoints = p.GetValue(budgets),
                MinTokensPerParameter = p.GetValue(minTpp), MaxTokensPerParameter = p.GetValue(maxTpp), MinLearningRateRatio = p.GetValue(minLr), MinComputeRatio = p.GetValue(minRatio), VocabSize = p.GetValue(vocab),
                CorpusDocuments = p.GetValue(docs), CodeShare = p.GetValue(codeShare), BatchSize = p.GetValue(batch), SequenceLength = p.GetValue(seqLen),
                LearningRate = p.GetValue(lr), LearningRateBaseWidth = p.GetValue(lrBase), LearningRateWidthExponent = p.GetValue(lrExponent), WarmupSteps = p.GetValue(warmup), AverageFraction = p.GetValue(averageFraction), FitSeeds = p.GetValue(fitSeeds), HeadlineByBacktest = p.GetValue(headlineByBacktest), FrontierHeadline = p.GetValue(frontierHeadline), EvalBatches = p.GetValue(evalBatches), CurvePoints = p.GetValue(curvePoints),
                BudgetSpan = p.GetValue(budgetSpan), FrontierSpan = p.GetValue(span), CodeTier = p.GetValue(tier)!, ReferenceProblems = p.GetValue(reference), CodeProblems = p.GetValue(problems),
                SamplesPerProblem = p.GetValue(samples), Temperature = p.GetValue(temperature), Seed = p.GetValue(seed), Device = p.GetValue(device)!,
                HeldOutSeeds = p.GetValue(heldOutSeeds), Workers = p.GetValue(workers), Resume = p.GetValue(resume),
            };
            var result = await ScalingSweep.RunAsync(settings, new ConsoleObserver(), cancel);
            var report = ScalingReport.Save(result, Path.GetFullPath(settings.OutDirectory));
            PrintSummary(result);
            AnsiConsole.MarkupLineInterpolated($"Wrote {Path.Combine(Path.GetFullPath(settings.OutDirectory), Reporting.Results.FileName)} and {report}.");
            return 0;
        });
        return command;
    }

    /// <summary>One line per event, each naming its run: with --workers several runs report at once, so every call takes a lock.</summary>
    sealed class ConsoleObserver : ISweepObserver
    {
        readonly Lock console = new();

        public void Log(string message)
        {
            lock (console) AnsiConsole.MarkupLineInterpolated($"[grey]{message}[/]");
        }

        public IProgress<TrainProgress>? RunStarting(SweepRunPlan plan)
        {
            lock (console) AnsiConsole.MarkupLineInterpolated($"[bold]{plan.Name}[/]: {plan.Parameters:N0} parameters, {plan.Tokens:N0} tokens, {plan.Steps:N0} steps, {plan.Compute:G3} FLOPs");
            return new InlineProgress<TrainProgress>(p =>
            {
                if (p.Step == p.Steps || p.Step % Math.Max(1, p.Steps / 4) == 0)
                    lock (console) AnsiConsole.MarkupLineInterpolated($"[grey]  {plan.Name} step {p.Step}/{p.Steps}  loss {p.Loss:F4}  {p.TokensPerSecond:F0} tok/s  ETA {p.Eta:mm\\:ss}{(p.ValidationLoss is { } v ? $"  val {v:F4}" : "")}[/]");
            });
        }

        public void RunFinished(SweepPoint point)
        {
            lock (console) AnsiConsole.MarkupLineInterpolated($"  {point.Plan.Name} -> final validation loss [bold]{point.FinalLoss:F4}[/], reference NLL {point.FinalCodeNll:F2}, code: {point.Code.Passed}/{point.Code.Problems * point.Code.SamplesPerProblem} samples passed ({point.TrainSeconds:F0} s training); curve: {string.Join(" ", point.Curve.Select(c => $"{c.Loss:F3}"))}");
        }

        public void Predicted(SweepPredictions predictions)
        {
            lock (console)
            {
                AnsiConsole.Write(new Rule("[yellow]prediction before training the held-out run[/]"));
                AnsiConsole.MarkupLineInterpolated($"validation loss, headline ({predictions.Headline}): predicted [bold yellow]{predictions.HeadlinePredicted:F4}[/] at {predictions.Loss.Compute:G3} FLOPs");
                foreach (var p in new[] { predictions.Loss, predictions.Code })
                    AnsiConsole.MarkupLineInterpolated($"{p.Metric}, {ScalingSweep.FrontierPredictor}: fit {p.Fit.Law} on {p.Frontier.Count} frontier points (rmse {p.Fit.RootMeanSquareError:G3}) -> predicted {p.Predicted:F4}; fit window {p.Regime.Describe()}");
                foreach (var f in predictions.Mixture?.Families ?? [])
                    AnsiConsole.MarkupLineInterpolated($"{f.Family} tokens ({f.Share:P1}): predicted {f.Law.Predicted:F4}; fit window {f.Law.Regime.Describe()}");
                if (predictions.Mixture?.FamiliesWithoutVisibleFloor is { Count: > 0 } open)
                    AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] the loss on {string.Join(" and ", open)} tokens does not flatten across the fit window; no a·C^(−b) + c fitted there can tell where it levels off, so the mixture's prediction rests partly on guesses.");
            }
        }
    }

    /// <summary>The mixture predictor per family: which component's extrapolation misses, and by how much of the total.</summary>
    static Table MixtureTable(MixturePrediction m)
    {
        var table = new Table().Title($"{ScalingSweep.MixturePredictor}: predicted {m.Predicted:F4}, actual {m.Actual:F4}, error {m.RelativeError:P2}")
            .AddColumns("family", "token share", "law (on its loss at the frontier sizes)", "fit window", "predicted", "actual", "relative error", "share of the total's error");
        foreach (var f in m.Families)
            table.AddRow(Markup.Escape(f.Family), f.Share.ToString("P1"), Markup.Escape(f.Law.Fit.Law.ToString()), f.Law.Regime.Regime.ToString().ToLowerInvariant(), f.Law.Predicted.ToString("F4"), f.Law.Actual?.ToString("F4") ?? "—",
                f.Law.Actual is { } a ? ((f.Law.Predicted - a) / a).ToString("+0.0%;-0.0%") : "—", m.Actual is { } total && f.ContributionTo(total) is { } c ? c.ToString("+0.00%;-0.00%") : "—");
        return table;
    }

    static void PrintSummary(ScalingResult r)
    {
        var runs = new Table().Title("scaling sweep").AddColumns("run", "params", "tokens", "compute (FLOPs)", "final loss", "law at this compute", "reference NLL", "law", "pass rate");
        foreach (var p in r.Points)
            runs.AddRow(p.Plan.Name + (p.Plan.HeldOut ? " (held out)" : ""), p.Plan.Parameters.ToString("N0"), p.TokensSeen.ToString("N0"), p.Compute.ToString("G3"),
                p.FinalLoss.ToString("F4"), r.Loss.Fit.Law.At(p.Compute).ToString("F4"), p.FinalCodeNll.ToString("F2"), r.Code.Fit.Law.At(p.Compute).ToString("F2"),
                $"{p.Code.MeanPassRate:P1} ({p.Code.Passed}/{p.Code.Problems * p.Code.SamplesPerProblem})");
        AnsiConsole.Write(runs);
        var errors = new Table().Title($"held-out run: {r.ComputeRatio:F1}x the compute of the largest fitted run{(r.HeldOutRuns.Count > 1 ? $", actual = mean of {r.HeldOutRuns.Count} seeds" : "")}").AddColumns("metric", "law", "predicted", "actual", "relative error");
        var rows = new List<(string Name, Prediction P)> { (r.Loss.Metric, r.Loss), (r.Code.Metric, r.Code) };
        if (r.LossBacktest is { } b) rows.Add(($"backtest inside the fitted runs: {b.Metric} at {b.Compute:G3} FLOPs", b));
        rows.AddRange(r.LossBySpan.Select(p => ($"sensitivity: {p.Metric}", p)));
        foreach (var (name, p) in rows)
            errors.AddRow(Markup.Escape(name), Markup.Escape(p.Fit.Law.ToString()), p.Predicted.ToString("F4"), p.Actual?.ToString("F4") ?? "—", p.RelativeError is { } e ? e.ToString("P2") : "—");
        foreach (var (name, p) in new[] { ($"{ScalingSweep.ParametricPredictor}: {ScalingSweep.LossMetric}", r.LossParametric), ($"backtest inside the fitted runs: {ScalingSweep.ParametricPredictor}", r.ParametricBacktest) })
            if (p is not null)
                errors.AddRow(Markup.Escape(name), Markup.Escape(p.Fit.Law.ToString()), p.Predicted.ToString("F4"), p.Actual?.ToString("F4") ?? "—", p.RelativeError is { } e ? e.ToString("P2") : "—");
        AnsiConsole.Write(errors);
        if (r.LossMixture is { } mixture) AnsiConsole.Write(MixtureTable(mixture));
        if (r.HeldOutRuns.Count > 1) AnsiConsole.MarkupLineInterpolated($"{ScalingReport.HeldOutSeedsLine(r)}");
        AnsiConsole.MarkupLineInterpolated($"Headline loss prediction ({r.HeadlinePredictor}, fixed before the held-out run trained): [bold]{r.HeadlineLossPredicted:F4}[/] vs {r.Loss.Actual:F4}, error [bold]{r.HeadlineLossError:P2}[/].");
    }
}
