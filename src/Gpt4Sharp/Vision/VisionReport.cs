using System.Text.Json.Nodes;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Vision;

/// <summary>results.json and report.html for the CLIP and vision-language training runs: summary, loss curve, evaluation tables.</summary>
static class VisionReport
{
    public static void WriteClip(string outDir, JsonObject results, ClipTrainResult r, TrainerState state)
    {
        Results.Write(outDir, results);
        var report = new Report("CLIP training").Section("Summary").KeyValues(
            ("parameters", r.Parameters), ("steps", r.Steps), ("training pictures", r.TrainImages),
            ("loss", $"{r.FirstLoss:F4} -> {r.FinalLoss:F4}"), ("temperature", r.Temperature),
            ("training time (s)", r.TrainSeconds), ("images/s", r.ImagesPerSecond), ("checkpoint", r.CheckpointDirectory));
        LossChart(report, state, "contrastive loss");
        report.Section("Zero-shot classification (held-out pictures)").Table(["set", "pictures", "classes", "top-1", "top-5"],
            r.ZeroShot.Select(z => (IReadOnlyList<object?>)[z.Name, z.Images, z.Classes, $"{z.Top1:P1}", $"{z.Top5:P1}"]));
        report.Save(outDir);
    }

    public static void WriteVlm(string outDir, JsonObject results, VlmTrainResult r, TrainerState state)
    {
        Results.Write(outDir, results);
        var report = new Report("Vision-language model training").Section("Summary").KeyValues(
            ("trainable parameters", r.TrainableParameters), ("image encoder", "CLIP, frozen"), ("steps", r.Steps), ("examples", r.Examples),
            ("loss (assistant tokens)", $"{r.FirstLoss:F4} -> {r.FinalLoss:F4}"), ("training time (s)", r.TrainSeconds),
            ("tokens/s", r.TokensPerSecond), ("checkpoint", r.CheckpointDirectory));
        LossChart(report, state, "cross-entropy (nats/token)");
        if (r.Evaluation is { } evaluation)
        {
            report.Section("Held-out evaluation", "Exact match judged by each curriculum family's checker; chart QA answered directly and with the two-stage rationale (MM-CoT).")
                .Table(["task", "items", "exact match"], evaluation.Scores.Select(s => (IReadOnlyList<object?>)[s.Task, s.Items, $"{s.Accuracy:P1}"]));
            report.Section("Examples").Table(["task", "question", "expected", "model"],
                evaluation.Scores.SelectMany(s => s.Examples.Take(3).Select(e => (IReadOnlyList<object?>)[s.Task, e.Question, e.Expected, e.Got])));
        }
        report.Save(outDir);
    }

    static void LossChart(Report report, TrainerState state, string yLabel)
    {
        if (state.LossHistory.Count == 0) return;
        report.Section("Loss").Chart(new Chart("Loss by step", ChartKind.Line, "step", yLabel,
            [new ChartSeries("train", [.. state.LossHistory.Select(p => (double)p.Step)], [.. state.LossHistory.Select(p => p.Loss)])]));
    }
}
