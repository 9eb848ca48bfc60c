using ScottPlot;

namespace Gpt4Sharp.Reasoning;

/// <summary>PNG line charts for the reasoning results (ScottPlot, headless).</summary>
public static class ReasoningPlots
{
    public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

    /// <summary>One chart with a line and markers per series; accuracy axes run 0–100 %.</summary>
    public static string Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool percentY = true)
    {
        var plot = new Plot();
        foreach (var s in series)
        {
            var line = plot.Add.Scatter(s.X.ToArray(), s.Y.Select(y => percentY ? y * 100 : y).ToArray());
            line.LegendText = s.Name;
            line.MarkerSize = 7;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (percentY) plot.Axes.SetLimitsY(0, 100);
        if (series.Count > 1) plot.ShowLegend();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 800, 500);
        return path;
    }
}
