using Gpt4Sharp.Reporting;

namespace Gpt4Sharp.Reasoning;

/// <summary>Accuracy charts for the reasoning results, drawn by <see cref="Chart"/>: saved as PNGs and added to the run's report.html.</summary>
public static class ReasoningPlots
{
    /// <summary>A line series of accuracies (0–1) shown in percent.</summary>
    public static ChartSeries Series(string name, IEnumerable<double> x, IEnumerable<double> accuracy) =>
        new(name, [.. x], [.. accuracy.Select(a => a * 100)]);

    public static Chart Accuracy(string title, string xLabel, IReadOnlyList<ChartSeries> series, bool logX = false) =>
        new(title, ChartKind.Line, xLabel, "accuracy (%)", series) { LogX = logX };

    /// <summary>Writes the chart to DIR/<paramref name="fileName"/> and returns the path.</summary>
    public static string SavePng(Chart chart, string directory, string fileName)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, fileName);
        File.WriteAllBytes(path, chart.RenderPng());
        return path;
    }

    /// <summary>report.html with a summary table and the charts.</summary>
    public static string Report(string directory, string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<object?>> rows, IEnumerable<Chart> charts)
    {
        var report = new Report(title).Section("Summary").Table(headers, rows);
        foreach (var chart in charts) report.Section(chart.Title).Chart(chart);
        return report.Save(directory);
    }
}
