using System.CommandLine;
using Gpt4Sharp.Stages;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"sft": supervised fine-tuning on conversations, loss on assistant tokens only.</summary>
public static class FineTuneCommands
{
    public static Command Create()
    {
        var d = new FineTuneSettings();
        var model = Cli.Required<string>("--model", "Run or checkpoint directory to start from (e.g. from `pretrain`).");
        var outDir = Cli.Opt("--out", "Run directory for the fine-tuned model.", d.OutDirectory);
        var data = Cli.Opt<string?>("--data", "Chat JSONL ({\"messages\": [...]} per line); default: the built-in fine-tuning mixture.");
        var examples = Cli.Opt("--examples", "Conversations drawn from the built-in mixture.", d.BuiltInExamples);
        var reserve = Cli.Opt("--safety-practice-reserve", "Share of the safety requests left out of the built-in mixture for PPO to practise on (give `ppo` the same share); 0 leaves none out.", d.SafetyPracticeReserve);
        var steps = Cli.Opt("--steps", "Optimiser steps.", d.Train.Steps);
        var batch = Cli.Opt("--batch-size", "Conversations per step.", d.Train.BatchSize);
        var seqLen = Cli.Opt("--seq-len", "Longest conversation in tokens (longer ones are cut).", d.Train.SequenceLength);
        var lr = Cli.Opt("--lr", "Peak learning rate.", d.Train.LearningRate);
        var seed = Cli.Opt("--seed", "Seed for data order and sampling.", d.Train.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);
        var resume = Cli.Opt("--resume", "Continue the run in --out from its newest valid checkpoint.", false);
        var command = new Command("sft", "Stage 2: supervised fine-tuning on chat data in the shared chat template (loss on assistant tokens only).")
        {
            model, outDir, data, examples, reserve, steps, batch, seqLen, lr, seed, device, resume,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                BaseModel = p.GetValue(model)!, OutDirectory = p.GetValue(outDir)!, DataFile = p.GetValue(data), BuiltInExamples = p.GetValue(examples), SafetyPracticeReserve = p.GetValue(reserve), Device = p.GetValue(device)!,
                Train = d.Train with { Steps = p.GetValue(steps), BatchSize = p.GetValue(batch), SequenceLength = p.GetValue(seqLen), LearningRate = p.GetValue(lr), Seed = p.GetValue(seed) },
            };
            var r = TrainingDisplay.Run("sft", settings.Train.Steps, 0, progress =>
                FineTuning.Run(settings, p.GetValue(resume), progress, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), cancel));
            var table = new Table().Title("fine-tuning summary").AddColumns("what", "value");
            table.AddRow("conversations", r.TrainExamples.ToString("N0"));
            table.AddRow("steps", r.Steps.ToString("N0"));
            table.AddRow("assistant-token validation loss", $"{r.InitialValidationLoss:F4} -> {r.FinalValidationLoss?.ToString("F4") ?? "not measured yet"}");
            table.AddRow("training time", $"{r.TrainSeconds:F0} s");
            table.AddRow("checkpoint", Markup.Escape(r.CheckpointDirectory));
            AnsiConsole.Write(table);
            foreach (var (prompt, reply) in r.Samples)
                AnsiConsole.Write(new Panel(new Markup($"[bold]user:[/] {Markup.Escape(prompt)}\n[bold]assistant:[/] {Markup.Escape(reply)}")).Header("sample"));
            return r.Completed ? 0 : 130;
        });
        return command;
    }
}
