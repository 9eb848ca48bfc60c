using System.CommandLine;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Training;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"reason eval|demo|emergence" and "self-improve": prompting formats, self-consistency and label-free self-improvement.</summary>
public static class ReasoningCommands
{
    public static Command[] Create()
    {
        var reason = new Command("reason", "Reasoning: few-shot and chain-of-thought prompting, self-consistency voting, emergence sweeps.");
        reason.Subcommands.Add(Eval());
        reason.Subcommands.Add(Demo());
        reason.Subcommands.Add(EmergenceCommand());
        return [reason, SelfImprove()];
    }

    static Command Eval()
    {
        var model = Cli.Required<string>("--model", "Run or checkpoint directory of a chat model (after `sft`).");
        var family = Cli.Opt("--family", "Curriculum family whose held-out items to solve.", "arithmetic");
        var formats = Cli.Opt("--format", "Prompt formats, comma-separated: zero-shot, few-shot, zero-shot-cot, few-shot-cot.", "zero-shot-cot");
        var samples = Cli.Opt("--samples", "Reasoning paths m per question for self-consistency (1 = greedy only).", 16);
        var temperatures = Cli.Opt("--temperatures", "Sampling temperatures, comma-separated; m is split evenly over them.", "0.7");
        var shots = Cli.Opt("--shots", "Exemplars per few-shot prompt (from the training split).", 1);
        var exemplarSteps = Cli.Opt("--exemplar-max-steps", "Largest difficulty of an exemplar (short exemplars fit small contexts).", 2);
        var items = Cli.Opt("--items", "Held-out items to evaluate.", 100);
        var minSteps = Cli.Opt("--min-steps", "Smallest difficulty (reasoning steps) of an evaluated item.", 3);
        var maxTokens = Cli.Opt("--max-tokens", "Longest reply in tokens.", 160);
        var outDir = Cli.Opt("--out", "Directory for results.json and accuracy_vs_samples.png.", "runs/reason-eval");
        var seed = Cli.Opt("--seed", "Seed for items, exemplars and sampling.", 1L);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "auto");
        var command = new Command("eval", "Evaluate prompt formats and self-consistency on held-out curriculum items; writes results.json and an accuracy-against-m plot.")
        {
            model, family, formats, samples, temperatures, shots, exemplarSteps, items, minSteps, maxTokens, outDir, seed, device,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var formatList = p.GetValue(formats)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ReasoningPrompts.Parse).Distinct().ToList();
            var temps = ParseTemperatures(p.GetValue(temperatures)!);
            var fam = p.GetValue(family)!;
            var heldOut = ReasoningEvaluation.HeldOut(fam, p.GetValue(seed), p.GetValue(items), p.GetValue(minSteps));
            var pool = formatList.Any(f => f.IsFewShot()) ? ExemplarPool.FromTraining(fam, p.GetValue(seed) + 1, maxDifficulty: p.GetValue(exemplarSteps)) : null;
            var outPath = Path.GetFullPath(p.GetValue(outDir)!);
            Directory.CreateDirectory(outPath);
            var results = new List<ReasoningEvalResult>();
            WithObserver(observer =>
            {
                using var bundle = ModelBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!), observer.Log);
                var sampler = new ModelPathSampler(bundle, p.GetValue(maxTokens));
                foreach (var format in formatList)
                {
                    var options = new ReasoningEvalOptions { Format = format, Shots = p.GetValue(shots), Samples = p.GetValue(samples), Temperatures = temps, Seed = p.GetValue(seed) };
                    results.Add(ReasoningEvaluation.Run(sampler, heldOut, options, pool, observer.Items($"{format.Name()} m={options.Samples}", heldOut.Count), cancel));
                }
            });
            RunInfo.Capture("reason eval", p.GetValue(seed), new { model = p.GetValue(model), family = fam, formats = p.GetValue(formats), samples = p.GetValue(samples) }).Write(outPath);
            var resultsFile = Results.Write(outPath, new { model = p.GetValue(model), summaries = results.Select(ReasoningDemo.Summary), details = results.Select(r => new { r.Format, r.Details }) });
            var chart = ReasoningPlots.Accuracy($"Self-consistency on held-out {fam} ({p.GetValue(minSteps)}+ steps)", "sampled paths m",
                results.Select(r => ReasoningPlots.Series(r.Format, r.VotedAccuracyBySamples.Keys.Select(k => (double)k), r.VotedAccuracyBySamples.Values)).ToList());
            var plot = ReasoningPlots.SavePng(chart, outPath, "accuracy_vs_samples.png");
            ReasoningPlots.Report(outPath, $"Reasoning evaluation of {p.GetValue(model)}", ["format", "greedy", $"majority of {p.GetValue(samples)}", "s / item"],
                results.Select(r => (IReadOnlyList<object?>)[r.Format, r.GreedyAccuracy, r.VotedAccuracyBySamples[p.GetValue(samples)], r.SecondsPerItem]), [chart]);

            var table = new Table().Title($"held-out {fam}, {heldOut.Count} items of {p.GetValue(minSteps)}+ steps").AddColumns("format", "greedy", $"majority of {p.GetValue(samples)}", "s / item");
            foreach (var r in results)
                table.AddRow(r.Format, $"{r.GreedyAccuracy:P1}", $"{r.VotedAccuracyBySamples[p.GetValue(samples)]:P1}", $"{r.SecondsPerItem:F2}");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Results: {resultsFile}\nPlot: {plot}");
            return 0;
        });
        return command;
    }

    static Command SelfImprove()
    {
        var d = new SelfImproveSettings();
        var model = Cli.Required<string>("--model", "Run or checkpoint directory of a chat model to improve.");
        var rounds = Cli.Opt("--rounds", "Rounds of sample, vote, filter, fine-tune.", d.Rounds);
        var family = Cli.Opt("--family", "Curriculum family whose training questions (labels dropped) to learn from.", d.Family);
        var questions = Cli.Opt("--questions", "Unlabelled questions per round.", d.Questions);
        var minSteps = Cli.Opt("--min-steps", "Smallest step count of a training question and of an evaluation item.", d.MinSteps);
        var firstQuestion = Cli.Opt("--first-question", "Index in the family's training stream of the first unlabelled question (the default is past every item the recipe's pretraining and SFT read).", d.FirstQuestion);
        var samples = Cli.Opt("--samples", "Reasoning paths m sampled per question.", d.Sampling.Samples);
        var temperatures = Cli.Opt("--temperatures", "Sampling temperatures, comma-separated.", "0.7");
        var threshold = Cli.Opt("--threshold", "Keep a question when the majority's vote share reaches this.", d.Sampling.ConfidenceThreshold);
        var maxPaths = Cli.Opt("--max-paths", "Distinct majority-agreeing paths kept per question, the most frequent first.", d.Sampling.MaxPathsPerQuestion);
        var faithful = Cli.Opt("--faithful-paths", "Extension of Huang et al.: only paths that work the question's own operations in order vote and are kept (reads the question only; one-digit chain families).", d.Sampling.FaithfulPathsOnly);
        var longSteps = Cli.Opt("--long-steps", "Questions of at least this many operations (read from the text) count as long; 0: none (one-digit chain families).", d.Sampling.LongSteps);
        var longSamples = Cli.Opt("--long-samples", "Paths sampled per long question (0: --samples).", d.Sampling.LongSamples);
        var balance = Cli.Opt("--balance-steps", "Repeat kept questions so every step count has as many as the most kept one (one-digit chain families).", d.Sampling.BalanceSteps);
        var combined = Cli.Opt("--combined", "Extra questions per round made by joining two questions.", d.CombinedQuestions);
        var generated = Cli.Opt("--generated", "Extra questions per round written by the model.", d.GeneratedQuestions);
        var steps = Cli.Opt("--steps", "Fine-tuning steps per round.", d.FineTune.Steps);
        var lr = Cli.Opt("--lr", "Fine-tuning peak learning rate.", d.FineTune.LearningRate);
        var evalItems = Cli.Opt("--eval-items", "Held-out items measured after each round.", d.EvalItems);
        var evalSeeds = Cli.Opt("--eval-seeds", "Seeds whose held-out items measure the rounds, comma-separated and pooled (--eval-items per seed); empty: --seed.", "");
        var evalMinSteps = Cli.Opt("--eval-min-steps", "Smallest step count of an evaluation item (0: --min-steps).", 0);
        var measureStart = Cli.Opt("--measure-start", "Measure the starting model as round 0.", d.MeasureStart);
        var evalSamples = Cli.Opt("--eval-samples", "Paths per held-out item for a voted accuracy too (1 = greedy only).", d.EvalSamples);
        var siMaxTokens = Cli.Opt("--max-tokens", "Longest sampled reply in tokens.", d.MaxNewTokens);
        var outDir = Cli.Opt("--out", "Directory for rounds, results.json and accuracy_per_round.png.", d.OutDirectory);
        var seed = Cli.Opt("--seed", "Seed for questions, sampling and training.", d.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "auto");
        var command = new Command("self-improve", "Stage 4: improve a model from its own majority-voted reasoning paths on unlabelled questions (Huang et al. 2022).")
        {
            model, rounds, family, questions, minSteps, firstQuestion, samples, temperatures, threshold, maxPaths, faithful, longSteps, longSamples, balance, combined, generated, steps, lr,
            evalItems, evalSeeds, evalMinSteps, measureStart, evalSamples, siMaxTokens, outDir, seed, device,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                Model = p.GetValue(model)!, OutDirectory = p.GetValue(outDir)!, Family = p.GetValue(family)!, Rounds = p.GetValue(rounds), Questions = p.GetValue(questions),
                MinSteps = p.GetValue(minSteps), FirstQuestion = p.GetValue(firstQuestion), EvalMinSteps = p.GetValue(evalMinSteps) > 0 ? p.GetValue(evalMinSteps) : p.GetValue(minSteps), CombinedQuestions = p.GetValue(combined), GeneratedQuestions = p.GetValue(generated),
                Sampling = d.Sampling with { Samples = p.GetValue(samples), Temperatures = ParseTemperatures(p.GetValue(temperatures)!), ConfidenceThreshold = p.GetValue(threshold), MaxPathsPerQuestion = p.GetValue(maxPaths), FaithfulPathsOnly = p.GetValue(faithful),
                    LongSteps = p.GetValue(longSteps), LongSamples = p.GetValue(longSamples), BalanceSteps = p.GetValue(balance), Seed = p.GetValue(seed) },
                FineTune = d.FineTune with { Steps = p.GetValue(steps), LearningRate = p.GetValue(lr) },
                EvalItems = p.GetValue(evalItems), EvalSeeds = ParseSeeds(p.GetValue(evalSeeds)!), MeasureStart = p.GetValue(measureStart), EvalSamples = p.GetValue(evalSamples), MaxNewTokens = p.GetValue(siMaxTokens), Device = p.GetValue(device)!, Seed = p.GetValue(seed),
            };
            SelfImproveResult result = null!;
            WithObserver(observer => result = SelfImprovementLoop.Run(settings, observer, cancel));
            AnsiConsole.Write(RoundsTable(result));
            AnsiConsole.MarkupLineInterpolated($"Results: {result.ResultsFile}\nPlot: {result.Plot}");
            return 0;
        });
        return command;
    }

    static Command Demo()
    {
        var d = new ReasoningDemoSettings();
        var preset = Cli.Opt("--preset", "Starting settings, which the other options override: full (the documented demo) or smoke (every phase at toy scale in about a minute; its accuracies mean nothing).", "full");
        var outDir = Cli.Opt("--out", "Directory for every phase's run, results.json and plots.", d.OutDirectory);
        var pretrainSteps = Cli.Opt("--pretrain-steps", "Stage-1 steps on the reasoning-rich corpus.", d.Recipe.Pretrain.Steps);
        var sftSteps = Cli.Opt("--sft-steps", "Fine-tuning steps on the four prompt formats.", d.Recipe.Sft.Steps);
        var items = Cli.Opt("--items", "Held-out items per measurement.", d.EvalItems);
        var samples = Cli.Opt("--samples", "Paths m for self-consistency.", d.Samples);
        var temperatures = Cli.Opt("--temperatures", "Sampling temperatures for self-consistency and self-improvement, comma-separated.", string.Join(',', d.Temperatures.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        var questions = Cli.Opt("--questions", "Unlabelled questions for the self-improvement round.", d.SelfImprove.Questions);
        var seed = Cli.Opt("--seed", "Seed of the whole recipe.", d.Recipe.Seed);
        var width = Cli.Opt("--d-model", "Model width, a multiple of 32 (one head per 32 dimensions).", d.Recipe.Model.DModel);
        var layers = Cli.Opt("--layers", "Transformer blocks.", d.Recipe.Model.Layers);
        var vocab = Cli.Opt("--vocab", "BPE vocabulary size.", d.Recipe.VocabSize);
        var corpus = Cli.Opt("--corpus", "Pretraining documents from the reasoning-rich mixture.", d.Recipe.CorpusDocuments);
        var labelled = Cli.Opt("--labelled-fraction", "Share of the family's pretraining items that come with a solution; the rest are bare questions.", d.Recipe.LabelledFraction);
        var sftExamples = Cli.Opt("--sft-examples", "Fine-tuning conversations (training items in the four formats).", d.Recipe.SftExamples);
        var sftBatch = Cli.Opt("--sft-batch", "Conversations per fine-tuning step (also for the self-improvement round).", d.Recipe.Sft.BatchSize);
        var siSamples = Cli.Opt("--si-samples", "Paths per question in the self-improvement round.", d.SelfImprove.Sampling.Samples);
        var siSteps = Cli.Opt("--si-steps", "Fine-tuning steps of the self-improvement round.", d.SelfImprove.FineTune.Steps);
        var threshold = Cli.Opt("--threshold", "Self-improvement keeps a question when the majority's vote share reaches this.", d.SelfImprove.Sampling.ConfidenceThreshold);
        var demoMaxPaths = Cli.Opt("--max-paths", "Self-improvement keeps this many distinct majority-agreeing paths per question, the most frequent first.", d.SelfImprove.Sampling.MaxPathsPerQuestion);
        var demoLongSteps = Cli.Opt("--long-steps", "Self-improvement: questions of at least this many operations count as long (0: none).", d.SelfImprove.Sampling.LongSteps);
        var demoLongSamples = Cli.Opt("--long-samples", "Self-improvement: paths per long question (0: --si-samples).", d.SelfImprove.Sampling.LongSamples);
        var demoBalance = Cli.Opt("--balance-steps", "Self-improvement: repeat kept questions so every step count has as many as the most kept one.", d.SelfImprove.Sampling.BalanceSteps);
        var demoLr = Cli.Opt("--si-lr", "Peak learning rate of the self-improvement round's fine-tuning.", d.SelfImprove.FineTune.LearningRate);
        var demoFaithful = Cli.Opt("--faithful-paths", "Self-improvement extension: only paths that work the question's own operations in order vote and are kept (reads the question only).", d.SelfImprove.Sampling.FaithfulPathsOnly);
        var maxTokens = Cli.Opt("--max-tokens", "Longest reply in tokens.", d.MaxNewTokens);
        var demoFamily = Cli.Opt("--family", "Curriculum family to learn and measure (ten-chains: one-digit steps, several derivations; digit-chains: one derivation; arithmetic: the harder general family).", d.Recipe.Family);
        var command = new Command("demo", "Train a small reasoner, compare prompt formats, plot self-consistency and run one self-improvement round on held-out problems.")
        {
            preset, outDir, pretrainSteps, sftSteps, items, samples, temperatures, questions, seed, width, layers, vocab, corpus, labelled, sftExamples, sftBatch,
            siSamples, siSteps, demoLr, threshold, demoMaxPaths, demoFaithful, demoLongSteps, demoLongSamples, demoBalance, maxTokens, demoFamily,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var b = ReasoningDemoSettings.Preset(p.GetValue(preset)!);
            // Options given on the command line override the preset; the rest keep the preset's values.
            T Get<T>(Option<T> option, T presetValue) => p.GetResult(option) is { Implicit: false } ? p.GetValue(option)! : presetValue;
            var temps = p.GetResult(temperatures) is { Implicit: false } ? ParseTemperatures(p.GetValue(temperatures)!) : b.Temperatures;
            var d2 = Get(width, b.Recipe.Model.DModel);
            var model = d2 == b.Recipe.Model.DModel ? b.Recipe.Model : b.Recipe.Model with { DModel = d2, Heads = Math.Max(1, d2 / 32), KvHeads = Math.Max(1, d2 / 32) };
            var batch = Get(sftBatch, b.Recipe.Sft.BatchSize);
            var settings = b with
            {
                OutDirectory = Get(outDir, b.OutDirectory), EvalItems = Get(items, b.EvalItems), Samples = Get(samples, b.Samples), Temperatures = temps,
                MaxNewTokens = Get(maxTokens, b.MaxNewTokens),
                Recipe = b.Recipe with
                {
                    Family = Get(demoFamily, b.Recipe.Family), Seed = Get(seed, b.Recipe.Seed), VocabSize = Get(vocab, b.Recipe.VocabSize),
                    CorpusDocuments = Get(corpus, b.Recipe.CorpusDocuments), LabelledFraction = Get(labelled, b.Recipe.LabelledFraction), SftExamples = Get(sftExamples, b.Recipe.SftExamples),
                    Model = model with { Layers = Get(layers, model.Layers) },
                    Pretrain = b.Recipe.Pretrain with { Steps = Get(pretrainSteps, b.Recipe.Pretrain.Steps) },
                    Sft = b.Recipe.Sft with { Steps = Get(sftSteps, b.Recipe.Sft.Steps), BatchSize = batch },
                },
                SelfImprove = b.SelfImprove with
                {
                    Questions = Get(questions, b.SelfImprove.Questions),
                    Sampling = b.SelfImprove.Sampling with
                    {
                        Samples = Get(siSamples, b.SelfImprove.Sampling.Samples), Temperatures = temps,
                        ConfidenceThreshold = Get(threshold, b.SelfImprove.Sampling.ConfidenceThreshold),
                        MaxPathsPerQuestion = Get(demoMaxPaths, b.SelfImprove.Sampling.MaxPathsPerQuestion),
                        FaithfulPathsOnly = Get(demoFaithful, b.SelfImprove.Sampling.FaithfulPathsOnly),
                        LongSteps = Get(demoLongSteps, b.SelfImprove.Sampling.LongSteps),
                        LongSamples = Get(demoLongSamples, b.SelfImprove.Sampling.LongSamples),
                        BalanceSteps = Get(demoBalance, b.SelfImprove.Sampling.BalanceSteps),
                    },
                    FineTune = b.SelfImprove.FineTune with { Steps = Get(siSteps, b.SelfImprove.FineTune.Steps), LearningRate = Get(demoLr, b.SelfImprove.FineTune.LearningRate), BatchSize = batch },
                },
            };
            ReasoningDemoResult result = null!;
            WithObserver(observer => result = ReasoningDemo.Run(settings, observer, cancel));
            var table = new Table().Title($"{result.Parameters:N0}-parameter model, held-out {settings.Recipe.Family} of {settings.EvalMinSteps}+ steps").AddColumns("measurement", "accuracy");
            foreach (var f in result.Formats) table.AddRow($"{f.Format} (greedy)", $"{f.GreedyAccuracy:P1}");
            table.AddRow($"zero-shot-cot, majority of {settings.Samples}", $"{result.SelfConsistency.VotedAccuracyBySamples[settings.Samples]:P1}");
            foreach (var r in result.SelfImprove.Rounds) table.AddRow($"self-improvement round {r.Round} (greedy CoT)", $"{r.GreedyAccuracy:P1}");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Results: {result.ResultsFile}");
            foreach (var plot in result.Plots) AnsiConsole.MarkupLineInterpolated($"Plot: {plot}");
            return 0;
        });
        return command;
    }

    static Command EmergenceCommand()
    {
        var d = new EmergenceSettings();
        var sizes = Cli.Opt("--sizes", "Model widths x depths to sweep, smallest first.", string.Join(',', d.Sizes.Select(s => $"{s.DModel}x{s.Layers}")));
        var pretrainSteps = Cli.Opt("--pretrain-steps", "Stage-1 steps per size.", d.Recipe.Pretrain.Steps);
        var sftSteps = Cli.Opt("--sft-steps", "Fine-tuning steps per size.", d.Recipe.Sft.Steps);
        var items = Cli.Opt("--items", "Held-out multi-step items per size and format.", d.EvalItems);
        var minSteps = Cli.Opt("--min-steps", "Smallest step count of an evaluated item.", d.EvalMinSteps);
        var outDir = Cli.Opt("--out", "Directory for each size's runs, results.json and plots.", d.OutDirectory);
        var seed = Cli.Opt("--seed", "Seed of the sweep.", d.Recipe.Seed);
        var command = new Command("emergence", "Train a sweep of model sizes and plot multi-step accuracy against parameters and against training compute.")
        {
            sizes, pretrainSteps, sftSteps, items, minSteps, outDir, seed,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                Sizes = Emergence.ParseSizes(p.GetValue(sizes)!), EvalItems = p.GetValue(items), EvalMinSteps = p.GetValue(minSteps), OutDirectory = p.GetValue(outDir)!,
                Recipe = d.Recipe with { Seed = p.GetValue(seed), Pretrain = d.Recipe.Pretrain with { Steps = p.GetValue(pretrainSteps) }, Sft = d.Recipe.Sft with { Steps = p.GetValue(sftSteps) } },
            };
            EmergenceResult result = null!;
            WithObserver(observer => result = Emergence.Run(settings, observer, cancel));
            var table = new Table().Title($"held-out {settings.Recipe.Family} of {settings.EvalMinSteps}+ steps").AddColumns("size", "parameters", "training FLOPs", "direct", "chain of thought");
            foreach (var pt in result.Points) table.AddRow($"{pt.DModel}x{pt.Layers}", pt.Parameters.ToString("N0"), pt.TrainingFlops.ToString("E2"), $"{pt.DirectAccuracy:P1}", $"{pt.CotAccuracy:P1}");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Results: {result.ResultsFile}");
            foreach (var plot in result.Plots) AnsiConsole.MarkupLineInterpolated($"Plot: {plot}");
            return 0;
        });
        return command;
    }

    static Table RoundsTable(SelfImproveResult result)
    {
        var table = new Table().Title("self-improvement (held-out accuracy, zero-shot chain of thought)").AddColumns("round", "questions", "confident", "examples", "greedy", "voted", "seconds");
        foreach (var r in result.Rounds)
            table.AddRow(r.Round.ToString(), r.Questions.ToString(), r.Confident.ToString(), r.Examples.ToString(), $"{r.GreedyAccuracy:P1}", r.VotedAccuracy is { } v ? $"{v:P1}" : "-", $"{r.Seconds:F0}");
        return table;
    }

    static IReadOnlyList<long>? ParseSeeds(string text)
    {
        var seeds = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
            long.TryParse(t, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v)
                ? v : throw new UserError($"Seed '{t}' is not a whole number; write e.g. --eval-seeds 2,3,4.")).Distinct().ToList();
        return seeds.Count > 0 ? seeds : null;
    }

    static IReadOnlyList<double> ParseTemperatures(string text)
    {
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
            double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v)
                ? v : throw new UserError($"Temperature '{t}' is not a number 0 or above; write e.g. --temperatures 0.5,0.7,1.0.")).ToList();
        return values.Count > 0 ? values : throw new UserError("Give at least one temperature, e.g. --temperatures 0.7.");
    }

    /// <summary>Live progress bars on a terminal, one per phase; throttled lines when output is redirected.</summary>
    static void WithObserver(Action<IReasoningObserver> body)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            body(new LineObserver(AnsiConsole.WriteLine));
            return;
        }
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => body(new BarObserver(ctx)));
    }

    sealed class BarObserver(ProgressContext ctx) : IReasoningObserver
    {
        public IProgress<TrainProgress> Training(string phase, int steps)
        {
            var task = ctx.AddTask(Markup.Escape(phase), maxValue: steps);
            return new InlineProgress<TrainProgress>(p =>
            {
                task.Value = p.Step;
                task.Description = Markup.Escape($"{phase}: loss {p.Loss:F3}, {p.TokensPerSecond:F0} tok/s" + (p.ValidationLoss is { } v ? $", val {v:F3}" : ""));
            });
        }

        public IProgress<(int Done, int Total)> Items(string phase, int total)
        {
            var task = ctx.AddTask(Markup.Escape(phase), maxValue: Math.Max(1, total));
            return new InlineProgress<(int Done, int Total)>(p => task.Value = p.Done);
        }

        public void Log(string line) => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]");
    }
}
