using Gpt4Sharp.Runtime;
using Gpt4Sharp.Training;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>
/// Shows a training run live: a progress bar with step, loss, tokens/s, MFU and ETA on a
/// terminal; one line every few seconds when output is redirected (logs, CI).
/// </summary>
public static class TrainingDisplay
{
    public static T Run<T>(string title, int totalSteps, int startStep, Func<IProgress<TrainProgress>, T> train)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            var lastLine = DateTime.MinValue;
            return train(new InlineProgress<TrainProgress>(p =>
            {
                if (p.ValidationLoss is null && p.Step != p.Steps && DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(5)) return;
                lastLine = DateTime.UtcNow;
                AnsiConsole.WriteLine(Describe(p));
            }));
        }
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: totalSteps);
                task.Value = startStep;
                result = train(new InlineProgress<TrainProgress>(p =>
                {
                    task.Value = p.Step;
                    task.Description = Markup.Escape(Describe(p));
                    if (p.ValidationLoss is { } v) AnsiConsole.MarkupLineInterpolated($"[grey]step {p.Step}: validation loss {v:F4}[/]");
                }));
            });
        return result;
    }

    static string Describe(TrainProgress p) =>
        $"step {p.Step}/{p.Steps}  loss {p.Loss:F4}  lr {p.LearningRate:0.###e0}  {p.TokensPerSecond:F0} tok/s" +
        (p.Mfu is { } mfu ? $"  MFU {mfu:P1}" : "") + $"  ETA {p.Eta:hh\\:mm\\:ss}" +
        (p.ValidationLoss is { } v ? $"  val {v:F4}" : "");
}
