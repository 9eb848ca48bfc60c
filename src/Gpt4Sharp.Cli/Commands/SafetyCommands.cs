using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Alignment.RedTeam;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"rbrm", "hallucination" and "redteam": the rule-based reward model, hallucination detection and the red-team suite.</summary>
public static class SafetyCommands
{
    public static Command[] Create() => [Rbrm(), Hallucination(), RedTeam()];

    static Option<string?> RubricOption() => Cli.Opt<string?>("--rubric", "Rubric JSON file (default: the built-in rubric; print it with `rbrm rubric`).");

    static Command Rbrm()
    {
        var command = new Command("rbrm", "Rule-based reward model: classify responses into A/B/C/D and reward them by prompt kind.");

        var prompt = Cli.Opt("--prompt", "The user's request.", "");
        var response = Cli.Required<string>("--response", "The assistant's reply to classify.");
        var rubric = RubricOption();
        var classify = new Command("classify", "Classify one response (A desired refusal, B undesired refusal, C disallowed content, D safe answer) and show its reward.") { prompt, response, rubric };
        classify.SetHandler((p, _) =>
        {
            var rbrm = RuleBasedRewardModel.Load(p.GetValue(rubric));
            var verdict = rbrm.Classify(p.GetValue(response)!);
            var (kind, category) = rbrm.ClassifyPrompt(p.GetValue(prompt)!);
            var moderation = rbrm.Moderate(p.GetValue(response)!);
            var table = new Table().AddColumns("what", "value");
            table.AddRow("class", $"{verdict.Class} ({Describe(verdict.Class)})");
            table.AddRow("why", Markup.Escape(verdict.Reason));
            table.AddRow("prompt kind", $"{kind}{(category is null ? "" : $" ({category})")}");
            table.AddRow("reward", rbrm.Reward(kind, verdict.Class).ToString("F2", CultureInfo.InvariantCulture));
            table.AddRow("response flagged", moderation.Flagged ? Markup.Escape(string.Join("; ", moderation.Reasons)) : "no");
            AnsiConsole.Write(table);
            return 0;
        });

        var seed = Cli.Opt("--seed", "Seed of the labelled examples.", 1L);
        var perClass = Cli.Opt("--per-class", "Labelled examples per class.", 200);
        var evalRubric = RubricOption();
        var eval = new Command("eval", "Confusion matrix and accuracy of the rubric on held-out labelled responses (curriculum A/D, templated B/C).") { seed, perClass, evalRubric };
        eval.SetHandler((p, _) =>
        {
            var rbrm = RuleBasedRewardModel.Load(p.GetValue(evalRubric));
            var report = RbrmReport.Evaluate(rbrm, LabelledResponses.Build(p.GetValue(seed), Split.Eval, p.GetValue(perClass)));
            var table = new Table().Title($"held-out confusion matrix ({report.Total} responses; rows: true class, columns: predicted)").AddColumns("true \\ predicted", "A", "B", "C", "D");
            foreach (var row in RbrmReport.Classes)
                table.AddRow([row.ToString(), .. RbrmReport.Classes.Select(c => report.Matrix[(int)row, (int)c].ToString(CultureInfo.InvariantCulture))]);
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"response accuracy [bold]{report.Accuracy:P1}[/], prompt-kind accuracy [bold]{report.PromptKindAccuracy:P1}[/]");
            foreach (var m in report.Mistakes.Take(5))
                AnsiConsole.MarkupLineInterpolated($"[grey]{m.Example.Label} -> {m.Verdict.Class} ({m.Verdict.Reason}): {m.Example.Response}[/]");
            return 0;
        });

        var rubricCmd = new Command("rubric", "Print the built-in rubric JSON (copy it, edit it, pass it back with --rubric).");
        rubricCmd.SetHandler((_, _) =>
        {
            Console.WriteLine(Rubric.DefaultJson);
            return 0;
        });

        command.Subcommands.Add(classify);
        command.Subcommands.Add(eval);
        command.Subcommands.Add(rubricCmd);
        return command;
    }

    static string Describe(RbrmClass c) => c switch
    {
        RbrmClass.A => "refusal in the desired style",
        RbrmClass.B => "refusal in an undesired style",
        RbrmClass.C => "disallowed content",
        _ => "safe non-refusal",
    };

    static Command Hallucination()
    {
        var command = new Command("hallucination", "Closed-domain hallucination: token-level detector, hallucination rate, detect-and-rewrite comparison pairs.");
        var d = new DetectorConfig();

        var outDir = Cli.Opt("--out", "Directory for the trained detector.", "runs/hallucination-detector");
        var steps = Cli.Opt("--steps", "Training steps.", d.Steps);
        var examples = Cli.Opt("--examples", "Synthetic training examples.", 4000);
        var evalExamples = Cli.Opt("--eval-examples", "Held-out examples for token F1.", 500);
        var threads = Cli.Opt("--threads", "CPU threads for TorchSharp (0: its default; 1 is fastest on a busy machine).", 0);
        var seed = Cli.Opt("--seed", "Seed for data and initialisation.", d.Seed);
        var train = new Command("train", "Train the token-level detector on synthetic hallucinations and report held-out token F1.") { outDir, steps, examples, evalExamples, threads, seed };
        train.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            if (p.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(p.GetValue(threads));
            var config = d with { Steps = p.GetValue(steps), Seed = p.GetValue(seed) };
            var trainSet = SyntheticHallucinations.Build(config.Seed, Split.Train, p.GetValue(examples));
            var evalSet = SyntheticHallucinations.Build(config.Seed, Split.Eval, p.GetValue(evalExamples));
            using var detector = new HallucinationDetector(config);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double loss = 0;
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training detector", maxValue: Math.Max(1, config.Steps));
                    loss = detector.Train(trainSet, new InlineProgress<DetectorProgress>(s => { task.Value = s.Step; task.Description = $"training detector (loss {s.Loss:F3})"; }), cancel);
                });
            var seconds = clock.Elapsed.TotalSeconds;
            var scores = detector.Evaluate(evalSet);
            var dir = p.GetValue(outDir)!;
            detector.Save(dir);
            RunInfo.Capture("hallucination train", config.Seed, new { config, examples = trainSet.Count, eval_examples = evalSet.Count, scores }).Write(dir);
            var table = new Table().Title("hallucination detector").AddColumns("what", "value");
            table.AddRow("training", $"{config.Steps} steps on {trainSet.Count} examples, {seconds:F0} s, final loss {loss:F3}");
            table.AddRow("held-out token precision / recall", $"{scores.Precision:P1} / {scores.Recall:P1}");
            table.AddRow("held-out token F1", $"[bold]{scores.F1:F3}[/] ({scores.Positives} hallucinated of {scores.Tokens} answer tokens; target 0.8)");
            table.AddRow("saved to", Markup.Escape(dir));
            AnsiConsole.Write(table);
            return 0;
        });

        var detectorDir = Cli.Opt("--detector", "Directory of a detector from `hallucination train`.", "runs/hallucination-detector");
        var reference = Cli.Required<string>("--reference", "The reference passage.");
        var answer = Cli.Required<string>("--answer", "The answer to check against it.");
        var detect = new Command("detect", "List the spans of an answer that the reference does not support.") { detectorDir, reference, answer };
        detect.SetHandler((p, _) =>
        {
            Cli.RequireTorch();
            using var detector = HallucinationDetector.Load(p.GetValue(detectorDir)!);
            var text = p.GetValue(answer)!;
            var spans = detector.Detect(p.GetValue(reference)!, text);
            if (spans.Count == 0) AnsiConsole.MarkupLine("[green]No hallucinated spans found.[/]");
            var marked = text;
            foreach (var s in spans.OrderByDescending(s => s.Start))
                marked = marked[..s.Start] + "\u0001" + marked.Substring(s.Start, s.Length) + "\u0002" + marked[s.End..];
            AnsiConsole.MarkupLine(Markup.Escape(marked).Replace("\u0001", "[red underline]").Replace("\u0002", "[/]"));
            foreach (var s in spans) AnsiConsole.MarkupLineInterpolated($"hallucinated: [red]{text.Substring(s.Start, s.Length)}[/] (characters {s.Start}-{s.End})");
            return 0;
        });

        var model = Cli.Required<string>("--model", "Run or checkpoint directory of a chat model (e.g. from `sft`).");
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var questions = Cli.Opt("--questions", "Held-out unknown-entity questions.", 100);
        var rateSeed = Cli.Opt("--seed", "Seed of the question stream.", 1L);
        var casesOut = Cli.Opt<string?>("--cases", "JSONL file of every question, reply and verdict {\"prompt\",\"reply\",\"hallucinated\",\"named_value\",\"reason\"}.");
        var rateSplit = Cli.Opt("--split", "eval (held-out entities) or train (training-split ones, such as those a PPO run with this --seed practised on).", "eval");
        var answerable = Cli.Opt("--answerable", "Also ask this many held-out questions about entities that exist and report how many were declined (0: off), so a rate bought by declining everything shows.", 0);
        var rate = new Command("rate", "Closed-domain hallucination rate: share of questions about non-existent entities answered instead of declined.") { model, device, questions, rateSeed, casesOut, rateSplit, answerable };
        rate.SetHandler((p, cancel) =>
        {
            var split = CurriculumCommands.ParseSplit(p.GetValue(rateSplit)!);
            if (p.GetValue(answerable) < 0) throw new UserError($"--answerable must be 0 (off) or a positive number of questions (got {p.GetValue(answerable)}).");
            Cli.RequireTorch();
            using var bundle = ModelBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!));
            HallucinationRateResult result = null!;
            WithProgress("asking unknown-entity questions", p.GetValue(questions), progress =>
                result = HallucinationRate.Measure(bundle, p.GetValue(questions), p.GetValue(rateSeed), progress: progress, cancel: cancel, split: split));
            AnsiConsole.MarkupLine($"closed-domain hallucination rate [bold]{result.Rate:P1}[/] ({result.Hallucinated} of {result.Questions} questions answered instead of declined)");
            AnsiConsole.MarkupLine($"  {result.NamedValue} named a value the world does not have; {result.Hallucinated - result.NamedValue} named none and did not decline (a refusal, an off-topic or a garbled reply)");
            if (p.GetValue(casesOut) is { } casesPath)
            {
                result.WriteJsonl(casesPath);   // creates the folder
                AnsiConsole.MarkupLineInterpolated($"every case: {casesPath}");
            }
            foreach (var c in result.Cases.Where(c => c.Hallucinated).Take(3))
                AnsiConsole.MarkupLineInterpolated($"[grey]{c.Prompt} -> {c.Reply} ({c.Reason})[/]");
            if (p.GetValue(answerable) is > 0 and var count)
            {
                AnswerableResult known = null!;
                WithProgress("asking answerable questions", count, progress =>
                    known = HallucinationRate.MeasureAnswerable(ChatResponders.Greedy(bundle, 48), count, p.GetValue(rateSeed), progress, cancel, split));
                AnsiConsole.MarkupLine($"answerable questions declined [bold]{known.DeclineRate:P1}[/] ({known.Declined} of {known.Questions}); answered right {known.Right}");
                foreach (var c in known.Cases.Where(c => KnowledgeFamily.SaysDontKnow(c.Reply)).Take(3))
                    AnsiConsole.MarkupLineInterpolated($"[grey]{c.Prompt} -> {c.Reply}[/]");
            }
            return 0;
        });

        var pipeModel = Cli.Required<string>("--model", "Run or checkpoint directory of a chat model (e.g. from `sft`).");
        var pipeDevice = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var pipeDetector = Cli.Opt("--detector", "Directory of a detector from `hallucination train`.", "runs/hallucination-detector");
        var pairsOut = Cli.Opt("--out", "JSONL file of comparison pairs {\"prompt\",\"chosen\",\"rejected\"} for the reward model.", "runs/hallucination-pairs.jsonl");
        var pipeQuestions = Cli.Opt("--questions", "Passage-grounded questions to answer (train split).", 200);
        var pipeSeed = Cli.Opt("--seed", "Seed of the question stream.", 1L);
        var pipeline = new Command("pipeline", "Answer passage questions (r1), detect hallucinations, rewrite (r2), re-check, and write r2-over-r1 comparison pairs.")
        {
            pipeModel, pipeDevice, pipeDetector, pairsOut, pipeQuestions, pipeSeed,
        };
        pipeline.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            using var detector = HallucinationDetector.Load(p.GetValue(pipeDetector)!);
            using var bundle = ModelBundle.Load(p.GetValue(pipeModel)!, TorchRuntime.ParseDevice(p.GetValue(pipeDevice)!));
            var respond = ChatResponders.Greedy(bundle, maxNewTokens: 64);
            PipelineResult result = null!;
            WithProgress("answering passage questions", p.GetValue(pipeQuestions), progress =>
                result = new HallucinationPipeline(detector).Run(respond, p.GetValue(pipeSeed), p.GetValue(pipeQuestions), progress, cancel));
            var path = p.GetValue(pairsOut)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            ComparisonPair.WriteJsonl(path, result.Pairs);
            var table = new Table().Title("detect-and-rewrite").AddColumns("step", "count");
            table.AddRow("questions answered (r1)", result.Questions.ToString(CultureInfo.InvariantCulture));
            table.AddRow("r1 correct by the curriculum checker", result.R1Correct.ToString(CultureInfo.InvariantCulture));
            table.AddRow("r1 with flagged spans", result.Flagged.ToString(CultureInfo.InvariantCulture));
            table.AddRow("rewritten (r2)", result.Rewritten.ToString(CultureInfo.InvariantCulture));
            table.AddRow("r2 clean on re-check -> pairs written", result.Emitted.ToString(CultureInfo.InvariantCulture));
            table.AddRow("emitted r2 correct by the checker", result.R2CorrectOfEmitted.ToString(CultureInfo.InvariantCulture));
            table.AddRow("pairs file", Markup.Escape(path));
            AnsiConsole.Write(table);
            return 0;
        });

        command.Subcommands.Add(train);
        command.Subcommands.Add(detect);
        command.Subcommands.Add(rate);
        command.Subcommands.Add(pipeline);
        return command;
    }

    static Command RedTeam()
    {
        var model = Cli.Required<string>("--model", "Run or checkpoint directory of a chat model (e.g. from `sft`).");
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var outDir = Cli.Opt("--out", "Directory for results.json.", "runs/redteam");
        var requests = Cli.Opt("--requests", "Held-out safety requests; each is asked four ways.", 40);
        var seed = Cli.Opt("--seed", "Seed of the request stream.", 1L);
        var rubric = RubricOption();
        var command = new Command("redteam", "Held-out adversarial prompts (paraphrase, role-play, split across turns, Chinese) scored by the RBRM: harmful-compliance and over-refusal rates.")
        {
            model, device, outDir, requests, seed, rubric,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var rbrm = RuleBasedRewardModel.Load(p.GetValue(rubric));
            using var bundle = ModelBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!));
            var cases = RedTeamPrompts.Build(p.GetValue(seed), p.GetValue(requests));
            RedTeamResult result = null!;
            WithProgress("red-team prompts", cases.Count, progress =>
                result = RedTeamSuite.Evaluate(ChatResponders.Greedy(bundle), rbrm, cases, progress, cancel));
            var dir = p.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            result.WriteJson(Path.Combine(dir, "results.json"));
            var reportPath = result.WriteReport(dir, p.GetValue(model)!);
            RunInfo.Capture("redteam", p.GetValue(seed), new { model = p.GetValue(model), requests = p.GetValue(requests), rubric = rbrm.Rubric.Name }).Write(dir);
            var table = new Table().Title("red team").AddColumns("technique", "harmful", "benign", "harmful compliance", "over-refusal", "mean RBRM reward");
            foreach (var (name, r) in result.ByTechnique.Append(new("all", result.Overall)))
                table.AddRow(name, r.Harmful.ToString(CultureInfo.InvariantCulture), r.Benign.ToString(CultureInfo.InvariantCulture),
                    r.HarmfulComplianceRate.ToString("P1", CultureInfo.InvariantCulture), r.OverRefusalRate.ToString("P1", CultureInfo.InvariantCulture),
                    r.MeanReward.ToString("F2", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"harmful replies by class {string.Join(", ", result.HarmfulClasses.Select(kv => $"{kv.Key}={kv.Value}"))}; benign {string.Join(", ", result.BenignClasses.Select(kv => $"{kv.Key}={kv.Value}"))}; details in {Path.Combine(dir, "results.json")} and {reportPath}");
            return 0;
        });
        return command;
    }

    static void WithProgress(string what, int total, Action<IProgress<int>> work) =>
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(what, maxValue: Math.Max(1, total));
                work(new InlineProgress<int>(done => task.Value = done));
            });
}
