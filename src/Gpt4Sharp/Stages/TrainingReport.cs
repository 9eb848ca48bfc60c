using Gpt4Sharp.Reporting;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Stages;

/// <summary>A prompt and what the trained model wrote after it.</summary>
public sealed record TextSample(string Prompt, string Completion);

/// <summary>
/// The results.json and report.html of a training stage: its summary numbers, the training and
/// validation loss curves, and samples from the trained model.
/// </summary>
static class TrainingReport
{
    public static void Write(string outDir, string title, object results, IEnumerable<(string Key, object? Value)> summary,
        TrainerState state, IReadOnlyList<TextSample> samples)
    {
        Results.Write(outDir, results);
        var report = new Report(title).Section("Summary").KeyValues([.. summary]);
        if (state.LossHistory.Count > 0)
        {
            var series = new List<ChartSeries> { new("train", [.. state.LossHistory.Select(p => (double)p.Step)], [.. state.LossHistory.Select(p => p.Loss)]) };
            if (state.ValLossHistory.Count > 0)
                series.Add(new ChartSeries("validation", [.. state.ValLossHistory.Select(p => (double)p.Step)], [.. state.ValLossHistory.Select(p => p.Loss)], ChartKind.Scatter));
            report.Section("Loss").Chart(new Chart("Loss by step", ChartKind.Line, "step", "cross-entropy (nats/token)", series));
        }
        if (samples.Count > 0)
            report.Section("Samples").Table(["prompt", "model output"], samples.Select(s => (IReadOnlyList<object?>)[s.Prompt, s.Completion]));
        report.Save(outDir);
    }
}
