using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Pipeline;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Training;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"pipeline": the whole recipe, all four stages and the evaluation, as one resumable run with one report.</summary>
public static class PipelineCommands
{
    public static Command Create()
    {
        var preset = Cli.Opt("--preset", $"Configuration: {string.Join(", ", PipelinePresets.Names)} (tiny checks every step in minutes; default takes about 20 minutes on 2 CPU cores; aligned, about 85, runs the alignment settings of rounds 18-30 in docs/alignment-rounds.md; large is sized for a GPU).", "default");
        var outDir = Cli.Opt("--out", "Run directory; rerunning with the same directory continues an interrupted run.", "runs/pipeline");
        var device = Cli.Opt<string?>("--device", "cpu, cuda, cuda:N or auto for every step (default: the preset's).");
        var settingsFile = Cli.Opt<string?>("--settings", "Pipeline settings JSON (every step's settings) instead of a preset, e.g. an edited copy of --show-settings.");
        var show = Cli.Opt("--show-settings", "Print the settings the run would use as JSON and exit.", false);
        var command = new Command("pipeline", "Runs the whole recipe: pretraining (with image tokens), alignment (SFT, RBRM, hallucination pairs, reward model), PPO, self-improvement, then the full evaluation.")
        {
            preset, outDir, device, settingsFile, show,
        };
        command.SetHandler((p, cancel) =>
        {
            var settings = p.GetValue(settingsFile) is { } file ? PipelineSettings.Load(file) : PipelinePresets.Get(p.GetValue(preset)!);
            if (p.GetValue(device) is { } d) settings = settings with { Device = d };
            if (p.GetValue(show))
            {
                Console.WriteLine(settings.Validate().ToJson());
                return 0;
            }
            Cli.RequireTorch();
            var r = PipelineRunner.Run(settings, p.GetValue(outDir)!, new ConsoleObserver(), cancel);
            Summarise(r);
            if (!r.Completed)
            {
                AnsiConsole.MarkupLineInterpolated($"[yellow]Stopped after {r.Steps.Count} of {PipelineRunner.Steps.Count} steps; run the same command again to continue.[/]");
                return 130;
            }
            return 0;
        });
        return command;
    }

    static void Summarise(PipelineResult r)
    {
        var table = new Table().Title("pipeline summary").AddColumns("step", "what it does", "seconds", "headline");
        foreach (var step in r.Steps)
            table.AddRow(Markup.Escape(step.Name), Markup.Escape(step.Title), step.Seconds.ToString("F0", CultureInfo.InvariantCulture), Markup.Escape(Headline(step)));
        AnsiConsole.Write(table);
        if (!r.Completed) return;
        var final = Path.Combine(r.RunDirectory, (string)r.Steps.Single(s => s.Name == "10-self-improve").Metrics["final_model"]!);
        AnsiConsole.MarkupLineInterpolated($"Report: [bold]{Path.Combine(r.RunDirectory, "report.html")}[/] (numbers in {Path.Combine(r.RunDirectory, "results.json")}).");
        AnsiConsole.MarkupLine("Talk to the result:");
        AnsiConsole.MarkupLineInterpolated($"  ./gpt4sharp chat --model {final}");
        AnsiConsole.MarkupLineInterpolated($"  ./gpt4sharp serve --model {final}    (OpenAI-compatible API and a chat page on http://127.0.0.1:8080)");
        AnsiConsole.MarkupLineInterpolated($"  ./gpt4sharp chat --model {Path.Combine(r.RunDirectory, "04-vlm")} --image PICTURE.png    (the vision-language model)");
    }

    /// <summary>One number per step that says whether it worked.</summary>
    static string Headline(StepRecord step)
    {
        var m = step.Metrics;
        string F(string key, string format = "F4") => Format(m[key], format);
        return step.Name switch
        {
            "01-scaling" => $"loss prediction error {F("headline_loss_relative_error", "P1")} at {F("compute_ratio", "F0")}x compute ({m["headline_loss_predictor"]})",
            "02-pretrain" => $"validation loss {F("initial_validation_loss")} -> {F("final_validation_loss")}",
            "03-clip" => $"contrastive loss {F("first_loss")} -> {F("final_loss")}",
            "04-vlm" => $"loss {F("first_loss")} -> {F("final_loss")}",
            "05-sft" => $"validation loss {F("initial_validation_loss")} -> {F("final_validation_loss")}",
            "06-rbrm" => $"accuracy {F("accuracy", "P1")} on {m["examples"]} labelled responses",
            "07-hallucination" => $"detector F1 {F("detector_f1", "F3")}; {m["pairs_emitted"]} comparison pairs",
            "08-reward-model" => $"held-out pair accuracy {F("accuracy", "P1")}",
            "09-ppo" => m["steps"]!.AsArray() is { Count: > 0 } s ? $"reward {Format(s[0]!["objective/reward"], "F3")} -> {Format(s[^1]!["objective/reward"], "F3")}" : "-",
            "10-self-improve" => string.Join(" -> ", m["rounds"]!.AsArray().Select(r => Format(r!["greedy_accuracy"], "P0"))) + " held-out accuracy",
            "11-memory" => $"recall {F("with_memory", "P0")} with memory, {F("without_memory", "P0")} without",
            "12-evaluate" => $"{m["models"]!.AsArray().Count} models evaluated",
            _ => "",
        };
    }

    static string Format(System.Text.Json.Nodes.JsonNode? node, string format) =>
        Gpt4Sharp.Reporting.Results.Number(node) is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>Step banners, and progress as a line every few seconds per phase (the steps nest training loops in item loops, which live bars do not show well).</summary>
    sealed class ConsoleObserver : IPipelineObserver
    {
        readonly LineObserver lines = new(line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"));

        public void StepStarting(PipelineStep step, bool resuming) =>
            AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(step.Name)}[/] {Markup.Escape(step.Title)}{(resuming ? " (continuing)" : "")}").LeftJustified());

        public void StepFinished(PipelineStep step, StepRecord record, bool skipped)
        {
            if (skipped) AnsiConsole.MarkupLineInterpolated($"[green]{step.Name}[/] already done: {Headline(record)}");
            else AnsiConsole.MarkupLineInterpolated($"[green]{step.Name}[/] done in {record.Seconds:F0} s: {Headline(record)}");
        }

        public IProgress<TrainProgress> Training(string phase, int steps) => lines.Training(phase, steps);
        public IProgress<(int Done, int Total)> Items(string phase, int total) => lines.Items(phase, total);
        public void Log(string line) => lines.Log(line);
    }
}
