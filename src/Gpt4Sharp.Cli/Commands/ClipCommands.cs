using System.CommandLine;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Vision;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"clip train" and "clip zeroshot": contrastive image-text pretraining and zero-shot classification.</summary>
public static class ClipCommands
{
    public static Command Create() => new("clip", "CLIP: train an image encoder contrastively on image/caption pairs and classify images zero-shot.") { Train(), ZeroShotCommand() };

    static Command Train()
    {
        var d = new ClipTrainSettings();
        var outDir = Cli.Opt("--out", "Run directory (tokenizer, checkpoint, results.json).", d.OutDirectory);
        var families = Cli.Opt("--families", "Picture families whose captions train the model.", string.Join(",", d.Families));
        var images = Cli.Opt("--images", "Training pictures drawn from the curriculum.", d.TrainImages);
        var steps = Cli.Opt("--steps", "Optimiser steps.", d.Steps);
        var batch = Cli.Opt("--batch-size", "Image/caption pairs per step (the in-batch negatives).", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate.", d.LearningRate);
        var warmup = Cli.Opt("--warmup", "Warmup steps.", d.WarmupSteps);
        var loss = Cli.Opt("--loss", "infonce (CLIP) or sigmoid (SigLIP; better at small batches).", d.Model.Loss);
        var imageSize = Cli.Opt("--image-size", "Square image side in pixels.", d.Model.Vision.ImageSize);
        var patch = Cli.Opt("--patch", "Patch side in pixels.", d.Model.Vision.PatchSize);
        var width = Cli.Opt("--width", "Width of both towers.", d.Model.Vision.Width);
        var visionLayers = Cli.Opt("--vision-layers", "Vision Transformer blocks.", d.Model.Vision.Layers);
        var textLayers = Cli.Opt("--text-layers", "Text encoder blocks.", d.Model.Text.Layers);
        var pooling = Cli.Opt("--pooling", "cls (class token) or mean (average of patches).", d.Model.Vision.Pooling);
        var embed = Cli.Opt("--embed-dim", "Shared embedding size.", d.Model.EmbedDim);
        var tokenizer = Cli.Opt<string?>("--tokenizer", "Tokenizer name or directory; default: train a small BPE on the picture texts.");
        var evalImages = Cli.Opt("--eval-images", "Held-out pictures per zero-shot task after training.", d.EvalImages);
        var seed = Cli.Opt("--seed", "Seed for data and initialisation.", d.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);
        var command = new Command("train", "Trains a CLIP model (ViT + text encoder) on the curriculum's pictures and captions, then reports zero-shot accuracy on held-out pictures.")
        {
            outDir, families, images, steps, batch, lr, warmup, loss, imageSize, patch, width, visionLayers, textLayers, pooling, embed, tokenizer, evalImages, seed, device,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            int w = p.GetValue(width);
            var settings = d with
            {
                OutDirectory = p.GetValue(outDir)!,
                Families = p.GetValue(families)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                TrainImages = p.GetValue(images), Steps = p.GetValue(steps), BatchSize = p.GetValue(batch), LearningRate = p.GetValue(lr),
                WarmupSteps = p.GetValue(warmup), TokenizerName = p.GetValue(tokenizer), EvalImages = p.GetValue(evalImages), Seed = p.GetValue(seed), Device = p.GetValue(device)!,
                Model = d.Model with
                {
                    Loss = p.GetValue(loss)!, EmbedDim = p.GetValue(embed),
                    Vision = d.Model.Vision with { ImageSize = p.GetValue(imageSize), PatchSize = p.GetValue(patch), Width = w, Layers = p.GetValue(visionLayers), Pooling = p.GetValue(pooling)! },
                    Text = d.Model.Text with { Width = w, Layers = p.GetValue(textLayers) },
                },
            };
            settings.Model.Validate();
            var result = VisionDisplay.Run("clip train", settings.Steps, progress =>
                ClipTraining.Run(settings, new InlineProgress<ClipProgress>(c => progress.Report((c.Step,
                    $"step {c.Step}/{c.Steps}  loss {c.Loss:F4}  lr {c.LearningRate:0.###e0}  {c.ImagesPerSecond:F0} img/s  T {c.Temperature:F3}  ETA {c.Eta:hh\\:mm\\:ss}"))),
                    line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), cancel));
            var table = new Table().Title("CLIP training summary").AddColumns("what", "value");
            table.AddRow("parameters", result.Parameters.ToString("N0"));
            table.AddRow("steps x batch", $"{result.Steps:N0} x {settings.BatchSize} over {result.TrainImages:N0} pictures");
            table.AddRow("loss", $"{result.FirstLoss:F4} -> {result.FinalLoss:F4} ({settings.Model.Loss})");
            table.AddRow("temperature", $"{result.Temperature:F4}");
            table.AddRow("training time", $"{result.TrainSeconds:F0} s ({result.ImagesPerSecond:F0} images/s)");
            foreach (var z in result.ZeroShot)
                table.AddRow($"zero-shot {Markup.Escape(z.Name)}", $"top-1 {z.Top1:P1}  top-5 {z.Top5:P1}  ({z.Images} pictures, {z.Classes} classes)");
            table.AddRow("checkpoint", Markup.Escape(result.CheckpointDirectory));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Classify a folder of class folders with: gpt4sharp clip zeroshot --model {result.OutDirectory} --images DIR");
            return result.Completed ? 0 : 130;
        });
        return command;
    }

    static Command ZeroShotCommand()
    {
        var model = Cli.Required<string>("--model", "Run directory from `clip train`, or a checkpoint directory.");
        var images = Cli.Opt("--images", "A folder with one subfolder of images per class, or a curriculum task: shapes, digits, scenes (held-out pictures).", "shapes");
        var templates = new Option<string[]>("--template") { Description = "Prompt template with {} for the class name (repeatable); default: the task's own.", DefaultValueFactory = _ => [] };
        var count = Cli.Opt("--count", "Held-out pictures for a curriculum task.", 400);
        var seed = Cli.Opt("--seed", "Seed for curriculum pictures.", 1001L);
        var split = Cli.Opt("--split", "Curriculum split: eval (held-out, the result) or train (a check that training learned the classes).", "eval");
        var show = Cli.Opt("--show", "Print the prediction for the first N images.", 0);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var command = new Command("zeroshot", "Classifies images by cosine similarity to class names put through prompt templates; prints top-1 and top-5 accuracy.") { model, images, templates, count, seed, split, show, device };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            using var clip = ClipBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!));
            var source = p.GetValue(images)!;
            var given = p.GetValue(templates)!;
            var curriculumSplit = p.GetValue(split) switch
            {
                "eval" => Gpt4Sharp.Curriculum.Split.Eval,
                "train" => Gpt4Sharp.Curriculum.Split.Train,
                var other => throw new UserError($"Unknown split '{other}'; use eval or train."),
            };
            using var set = LabeledImages.CurriculumTasks.Contains(source) && !Directory.Exists(source)
                ? LabeledImages.FromCurriculum(source, p.GetValue(seed), p.GetValue(count), clip.ImageOptions, curriculumSplit)
                : LabeledImages.FromFolders(source, clip.ImageOptions);
            using var withTemplates = given.Length > 0 ? set with { Templates = given } : set;
            var result = ZeroShot.Evaluate(clip.Model, clip.Tokenizer, withTemplates);
            for (int i = 0; i < Math.Min(p.GetValue(show), result.Images); i++)
                AnsiConsole.MarkupLineInterpolated($"[grey]image {i}: predicted {result.Predictions[i]}, labelled {set.Classes[set.Labels[i]]}[/]");
            var table = new Table().Title($"zero-shot: {Markup.Escape(result.Name)}").AddColumns("images", "classes", "top-1", "top-5", "images/s");
            table.AddRow(result.Images.ToString("N0"), result.Classes.ToString("N0"), $"{result.Top1:P1}", $"{result.Top5:P1}", $"{result.ImagesPerSecond:F0}");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}

/// <summary>A progress bar for the vision verbs' training loops (a plain line every few seconds when output is redirected).</summary>
static class VisionDisplay
{
    public static T Run<T>(string title, int total, Func<IProgress<(int Step, string Line)>, T> work)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            var last = DateTime.MinValue;
            return work(new InlineProgress<(int Step, string Line)>(p =>
            {
                if (p.Step != total && DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                last = DateTime.UtcNow;
                AnsiConsole.WriteLine(p.Line);
            }));
        }
        T result = default!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: total);
                result = work(new InlineProgress<(int Step, string Line)>(p =>
                {
                    task.Value = p.Step;
                    task.Description = Markup.Escape(p.Line);
                }));
            });
        return result;
    }
}
