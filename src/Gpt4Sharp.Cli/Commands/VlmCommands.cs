using System.CommandLine;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Vision;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"vlm train", "vlm eval" and "vlm ask": the multimodal decoder reading image spans between text.</summary>
public static class VlmCommands
{
    public static Command Create() => new("vlm", "Vision-language model: a decoder reading CLIP image features as <image> spans between text tokens.") { Train(), Eval(), Ask() };

    static Command Train()
    {
        var clip = Cli.Required<string>("--clip", "Run directory from `gpt4sharp clip train` (its image encoder and tokenizer are reused).");
        var d = new VlmTrainSettings { ClipDirectory = "" };
        var outDir = Cli.Opt("--out", "Run directory (tokenizer, checkpoint, results.json).", d.OutDirectory);
        var families = Cli.Opt("--families", "Picture families to train on.", string.Join(",", d.Families));
        var images = Cli.Opt("--images", "Training pictures drawn from the curriculum.", d.TrainImages);
        var steps = Cli.Opt("--steps", "Optimiser steps.", d.Steps);
        var batch = Cli.Opt("--batch-size", "Examples per step.", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate.", d.LearningRate);
        var dModel = Cli.Opt("--d-model", "Decoder width.", d.DModel);
        var layers = Cli.Opt("--layers", "Decoder layers.", d.Layers);
        var heads = Cli.Opt("--heads", "Decoder heads.", d.Heads);
        var context = Cli.Opt("--context", "Decoder context in tokens.", d.ContextLength);
        var projector = Cli.Opt("--projector", "linear (a token per patch) or resampler (a fixed number of tokens per image).", d.Projector);
        var resampled = Cli.Opt("--resampler-tokens", "Tokens per image with the resampler.", d.ResamplerTokens);
        var trainEncoder = Cli.Opt("--train-encoder", "Fine-tune the CLIP image encoder too (slower; by default it is frozen).", d.TrainEncoder);
        var encoderLr = Cli.Opt("--encoder-lr", "Peak learning rate of the image encoder with --train-encoder.", d.EncoderLearningRate);
        var init = Cli.Opt<string?>("--init", "A vlm train run of the same shape to continue from (a fresh learning-rate schedule).");
        var evalItems = Cli.Opt("--eval-items", "Held-out pictures per evaluation task after training (0 = skip).", d.EvalItems);
        var seed = Cli.Opt("--seed", "Seed for data and initialisation.", d.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);
        var command = new Command("train", "Trains a projector + decoder on captioning, visual QA, chart QA and two-stage multimodal chain of thought, then evaluates on held-out pictures.")
        {
            clip, outDir, families, images, steps, batch, lr, dModel, layers, heads, context, projector, resampled, trainEncoder, encoderLr, init, evalItems, seed, device,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                ClipDirectory = p.GetValue(clip)!, OutDirectory = p.GetValue(outDir)!,
                Families = p.GetValue(families)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                TrainImages = p.GetValue(images), Steps = p.GetValue(steps), BatchSize = p.GetValue(batch), LearningRate = p.GetValue(lr),
                DModel = p.GetValue(dModel), Layers = p.GetValue(layers), Heads = p.GetValue(heads), ContextLength = p.GetValue(context),
                Projector = p.GetValue(projector)!, ResamplerTokens = p.GetValue(resampled),
                TrainEncoder = p.GetValue(trainEncoder), EncoderLearningRate = p.GetValue(encoderLr), InitFrom = p.GetValue(init), EvalItems = p.GetValue(evalItems), Seed = p.GetValue(seed), Device = p.GetValue(device)!,
            };
            var result = VisionDisplay.Run("vlm train", settings.Steps, progress =>
                VlmTraining.Run(settings, new InlineProgress<(int Step, int Steps, double Loss, double TokensPerSecond)>(c =>
                    progress.Report((c.Step, $"step {c.Step}/{c.Steps}  loss {c.Loss:F4}  {c.TokensPerSecond:F0} tok/s"))),
                    line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), cancel));
            var table = new Table().Title("VLM training summary").AddColumns("what", "value");
            table.AddRow("trainable parameters", $"{result.TrainableParameters:N0} (image encoder {VlmTraining.EncoderState(settings)})");
            table.AddRow("steps", $"{result.Steps:N0} x {settings.BatchSize} from {result.Examples:N0} examples");
            table.AddRow("loss (assistant tokens)", $"{result.FirstLoss:F4} -> {result.FinalLoss:F4}");
            table.AddRow("training time", $"{result.TrainSeconds:F0} s ({result.TokensPerSecond:F0} tokens/s)");
            table.AddRow("checkpoint", Markup.Escape(result.CheckpointDirectory));
            AnsiConsole.Write(table);
            if (result.Evaluation is { } evaluation) PrintEvaluation(evaluation);
            AnsiConsole.MarkupLineInterpolated($"Ask it with: gpt4sharp vlm ask --model {result.OutDirectory} --image FILE --question \"...\"");
            return result.Completed ? 0 : 130;
        });
        return command;
    }

    static Command Eval()
    {
        var model = Cli.Required<string>("--model", "Run directory from `gpt4sharp vlm train`, or a checkpoint directory.");
        var items = Cli.Opt("--items", "Held-out pictures per task.", 100);
        var seed = Cli.Opt("--seed", "Seed for the held-out pictures.", 1001L);
        var output = Cli.Opt<string?>("--out", "Write the table as JSON here (default: MODEL/eval.json).");
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var command = new Command("eval", "Caption and VQA exact match, chart QA with and without the two-stage rationale, on held-out pictures.") { model, items, seed, output, device };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            using var vlm = VlmBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!));
            int n = p.GetValue(items);
            VlmEvalResult result = default!;
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("evaluating", maxValue: n * 7);
                result = VlmEvaluation.Run(vlm.Model, vlm.Tokenizer, n, p.GetValue(seed), new InlineProgress<(int Done, int Total)>(c => task.Value = c.Done), cancel);
            });
            PrintEvaluation(result);
            var path = p.GetValue(output) ?? Path.Combine(Directory.Exists(p.GetValue(model)) ? p.GetValue(model)! : vlm.Directory, "eval.json");
            Gpt4Sharp.Runs.AtomicFile.WriteAllText(path, result.ToJson().ToJsonString(Gpt4Sharp.Runs.RunInfo.Json));
            AnsiConsole.MarkupLineInterpolated($"[grey]Wrote {path}[/]");
            return 0;
        });
        return command;
    }

    static Command Ask()
    {
        var model = Cli.Required<string>("--model", "Run directory from `gpt4sharp vlm train`, or a checkpoint directory.");
        var images = new Option<string[]>("--image") { Description = "PNG, JPEG or WebP file (repeatable: several pictures in one prompt).", Required = true };
        var question = Cli.Required<string>("--question", "What to ask about the picture(s).");
        var twoStage = Cli.Opt("--rationale", "Two-stage chain of thought: write a rationale first, then answer from it.", false);
        var maxTokens = Cli.Opt("--max-tokens", "New tokens at most per stage.", 80);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var command = new Command("ask", "Answers a question about one or more pictures.") { model, images, question, twoStage, maxTokens, device };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            using var vlm = VlmBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!));
            var pixels = p.GetValue(images)!.Select(vlm.Images.LoadImage).ToArray();
            var (rationale, answer) = VlmGeneration.Ask(vlm.Model, vlm.Images, vlm.Tokenizer, pixels, p.GetValue(question)!, p.GetValue(twoStage), p.GetValue(maxTokens));
            if (rationale is not null) AnsiConsole.MarkupLineInterpolated($"[grey]rationale:[/] {rationale}");
            AnsiConsole.MarkupLineInterpolated($"[bold]answer:[/] {answer.Trim()}");
            return 0;
        });
        return command;
    }

    static void PrintEvaluation(VlmEvalResult result)
    {
        var table = new Table().Title("held-out evaluation (exact match)").AddColumns("task", "items", "exact match");
        foreach (var s in result.Scores)
        {
            table.AddRow(Markup.Escape(s.Task), s.Items.ToString("N0"), $"{s.Accuracy:P1}");
            // Chart QA mixes question kinds of very different difficulty; show each.
            if (s.Task.StartsWith("chart", StringComparison.Ordinal))
                foreach (var (kind, (items, correct)) in s.ByQuestion ?? new Dictionary<string, (int, int)>())
                    table.AddRow($"[grey]  {Markup.Escape(kind)} ...[/]", items.ToString("N0"), $"[grey]{(items == 0 ? 0 : (double)correct / items):P1}[/]");
        }
        AnsiConsole.Write(table);
    }
}
