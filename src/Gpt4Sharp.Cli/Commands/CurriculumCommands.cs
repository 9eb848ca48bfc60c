using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Runs;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>`gpt4sharp curriculum list|make|mix|check`: the built-in synthetic training and evaluation data.</summary>
public static class CurriculumCommands
{
    public static Command Create()
    {
        var command = new Command("curriculum", "Built-in synthetic curriculum: seeded generators with exact checkers and disjoint train/eval splits.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Make());
        command.Subcommands.Add(Mix());
        command.Subcommands.Add(Check());
        return command;
    }

    static Command List()
    {
        var command = new Command("list", "Lists the curriculum families.");
        command.SetHandler((_, _) =>
        {
            var table = new Table().AddColumns("family", "eval share", "output", "description");
            foreach (var f in CurriculumRegistry.All)
                table.AddRow(f.Name, f is CurriculumFamily cf ? cf.EvalFraction.ToString("P0", CultureInfo.InvariantCulture) : "-",
                    f is IImageFamily ? "PNG + JSONL" : "JSONL", Markup.Escape(f.Description));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    internal static Split ParseSplit(string text) => text.ToLowerInvariant() switch
    {
        "train" => Split.Train,
        "eval" => Split.Eval,
        _ => throw new UserError($"Split '{text}' is not train or eval; pass --split train or --split eval."),
    };

    static OutputFormat ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "items" => OutputFormat.Items,
        "chat" => OutputFormat.Chat,
        "text" => OutputFormat.Text,
        _ => throw new UserError($"Format '{text}' is not items, chat or text; pass one of those to --format."),
    };

    static Command Make()
    {
        var families = Cli.Opt("--families", "Comma-separated family names, or all.", "all");
        var count = Cli.Opt("--count", "Items per family.", 1000);
        var split = Cli.Opt("--split", "train or eval.", "train");
        var seed = Cli.Opt("--seed", "Generation seed.", 1L);
        var format = Cli.Opt("--format", "items (full JSON + PNGs), chat (OpenAI messages) or text (pretraining documents).", "items");
        var outDir = Cli.Required<string>("--out", "Output directory.");
        var command = new Command("make", "Writes items of the chosen families for one split, with progress and a summary table.");
        foreach (var o in new Option[] { families, count, split, seed, format, outDir }) command.Options.Add(o);
        command.SetHandler((parse, cancel) =>
        {
            var chosen = CurriculumRegistry.Parse(parse.GetValue(families)!);
            var n = parse.GetValue(count);
            if (n <= 0) throw new UserError($"--count is {n}; ask for at least one item.");
            var s = ParseSplit(parse.GetValue(split)!);
            var fmt = ParseFormat(parse.GetValue(format)!);
            var dir = parse.GetValue(outDir)!;
            var seedValue = parse.GetValue(seed);
            var summaries = new List<MakeSummary>();
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var tasks = chosen.Select(f => (Family: f, Task: ctx.AddTask(f.Name, maxValue: n))).ToList();
                    foreach (var (family, task) in tasks)
                        summaries.Add(CurriculumWriter.Write(family, seedValue, s, n, dir, fmt, "You are a helpful assistant.", done => task.Increment(done), cancel));
                });
            RunInfo.Capture("curriculum make", seedValue, new { families = chosen.Select(f => f.Name), count = n, split = s, format = fmt }).Write(dir);
            var table = new Table().AddColumns("family", "split", "items", "mean tokens (cl100k)", "images", "seconds", "file");
            foreach (var m in summaries)
                table.AddRow(m.Family, m.Split.ToString().ToLowerInvariant(), m.Items.ToString("N0", CultureInfo.InvariantCulture),
                    m.MeanTokens.ToString("F1", CultureInfo.InvariantCulture), m.Images.ToString("N0", CultureInfo.InvariantCulture),
                    m.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture), Markup.Escape(Path.GetFileName(m.Path)));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Wrote {summaries.Sum(m => m.Items):N0} items to {dir}.");
            return 0;
        });
        return command;
    }

    static Command Mix()
    {
        var config = Cli.Opt<string?>("--mixture", "Mixture JSON (seed, count, split, weights, max_difficulty); omit to use --preset.");
        var preset = Cli.Opt("--preset", "pretrain or finetune (used when --mixture is absent).", "pretrain");
        var seed = Cli.Opt("--seed", "Seed for a preset.", 1L);
        var count = Cli.Opt("--count", "Items for a preset (0 = the preset's default).", 0);
        var format = Cli.Opt("--format", "text (pretraining documents) or chat (OpenAI messages).", "text");
        var outFile = Cli.Required<string>("--out", "Output JSONL file.");
        var command = new Command("mix", "Writes a weighted mixture of text families as pretraining text or chat examples.");
        foreach (var o in new Option[] { config, preset, seed, count, format, outFile }) command.Options.Add(o);
        command.SetHandler((parse, cancel) =>
        {
            var path = parse.GetValue(config);
            var n = parse.GetValue(count);
            var mixture = path is not null ? Mixture.Load(path) : parse.GetValue(preset)!.ToLowerInvariant() switch
            {
                "pretrain" => n > 0 ? Mixture.DefaultPretrain(parse.GetValue(seed), n) : Mixture.DefaultPretrain(parse.GetValue(seed)),
                "finetune" => n > 0 ? Mixture.DefaultFineTune(parse.GetValue(seed), n) : Mixture.DefaultFineTune(parse.GetValue(seed)),
                var other => throw new UserError($"Preset '{other}' is not pretrain or finetune; pass one of those or --mixture FILE."),
            };
            var fmt = ParseFormat(parse.GetValue(format)!);
            if (fmt == OutputFormat.Items) throw new UserError("A mixture is written as text or chat; pass --format text or --format chat.");
            var target = parse.GetValue(outFile)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
            var perFamily = new SortedDictionary<string, (int Items, long Tokens, int Sampled)>(StringComparer.Ordinal);
            var sampleEvery = Math.Max(1, mixture.Count / 4000);
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("mixture", maxValue: mixture.Count);
                    AtomicFile.Write(target, stream =>
                    {
                        using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
                        var k = 0;
                        foreach (var (family, item) in mixture.Items())
                        {
                            cancel.ThrowIfCancellationRequested();
                            writer.WriteLine(fmt == OutputFormat.Chat
                                ? CurriculumJson.ToLine(Mixture.ToChat(item, mixture.SystemPrompt))
                                : CurriculumJson.ToLine(new { text = Mixture.ToDocument(item) }));
                            var (items, tokens, sampled) = perFamily.GetValueOrDefault(family.Name);
                            if (k++ % sampleEvery == 0) { tokens += CurriculumWriter.CountTokens(CurriculumWriter.TokenText(item)); sampled++; }
                            perFamily[family.Name] = (items + 1, tokens, sampled);
                            if (k % 1000 == 0) task.Increment(1000);
                        }
                        task.Value = mixture.Count;
                    });
                });
            var table = new Table().AddColumns("family", "items", "share", "mean tokens (cl100k)");
            foreach (var (name, (items, tokens, sampled)) in perFamily)
                table.AddRow(name, items.ToString("N0", CultureInfo.InvariantCulture), ((double)items / mixture.Count).ToString("P1", CultureInfo.InvariantCulture),
                    sampled == 0 ? "-" : ((double)tokens / sampled).ToString("F1", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Wrote {mixture.Count:N0} {fmt.ToString().ToLowerInvariant()} rows to {target}.");
            return 0;
        });
        return command;
    }

    static Command Check()
    {
        var family = Cli.Required<string>("--family", "Family the answers belong to.");
        var answers = Cli.Required<string>("--answers", "JSONL with one {\"id\": ..., \"answer\": ...} per line.");
        var items = Cli.Opt<string?>("--items", "Items JSONL to look ids up in (default: rebuild each item from its id).");
        var report = Cli.Opt<string?>("--report", "Write per-answer verdicts (JSONL) here.");
        var command = new Command("check", "Scores a file of model answers with the family's exact checker and prints accuracy by kind and the commonest failure reasons.");
        foreach (var o in new Option[] { family, answers, items, report }) command.Options.Add(o);
        command.SetHandler((parse, cancel) =>
        {
            var f = CurriculumRegistry.Get(parse.GetValue(family)!);
            var lookup = parse.GetValue(items) is { } itemsPath ? AnswerScoring.ReadItems(itemsPath) : null;
            var rows = AnswerScoring.ReadAnswers(parse.GetValue(answers)!).ToList();
            if (rows.Count == 0) throw new UserError("The answers file has no rows; write one {\"id\": ..., \"answer\": ...} per line.");
            var scored = new List<ScoredAnswer>();
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"checking {f.Name}", maxValue: rows.Count);
                    foreach (var (id, answer) in rows)
                    {
                        cancel.ThrowIfCancellationRequested();
                        scored.Add(AnswerScoring.Score(f, id, answer, lookup));
                        task.Increment(1);
                    }
                });
            if (parse.GetValue(report) is { } reportPath)
                AtomicFile.WriteAllText(reportPath, string.Concat(scored.Select(s => CurriculumJson.ToLine(s) + "\n")));
            var table = new Table().AddColumns("kind", "answers", "correct", "accuracy");
            foreach (var g in scored.GroupBy(s => s.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
                table.AddRow(g.Key, g.Count().ToString(CultureInfo.InvariantCulture), g.Count(s => s.Correct).ToString(CultureInfo.InvariantCulture),
                    ((double)g.Count(s => s.Correct) / g.Count()).ToString("P1", CultureInfo.InvariantCulture));
            var correct = scored.Count(s => s.Correct);
            table.AddRow("[bold]all[/]", scored.Count.ToString(CultureInfo.InvariantCulture), correct.ToString(CultureInfo.InvariantCulture),
                ((double)correct / scored.Count).ToString("P1", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            var reasons = scored.Where(s => !s.Correct).GroupBy(s => s.Reason).OrderByDescending(g => g.Count()).Take(5).ToList();
            if (reasons.Count > 0)
            {
                var why = new Table().AddColumns("failure reason", "count");
                foreach (var g in reasons) why.AddRow(Markup.Escape(g.Key), g.Count().ToString(CultureInfo.InvariantCulture));
                AnsiConsole.Write(why);
            }
            return 0;
        });
        return command;
    }
}
