using ScottPlot;

namespace Gpt4Sharp.Reporting;

/// <summary>Line: points joined and marked. Curve: a drawn function (many points, no markers). Scatter: points only. Bar: bars.</summary>
public enum ChartKind { Line, Curve, Scatter, Bar }

/// <summary>
/// One named series: x and y of equal length (for bars, x is the bar position and labels name
/// them). <see cref="Kind"/> overrides the chart's kind, e.g. observed points with a fitted line.
/// <see cref="Emphasised"/> draws its markers three times larger, for the one or two points a
/// chart is about (a prediction and its outcome); series are drawn in order, so put those last.
/// </summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, ChartKind? Kind = null, bool Emphasised = false);

/// <summary>A chart described as data, drawn with ScottPlot into a PNG.</summary>
public sealed record Chart(string Title, ChartKind Kind, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Series)
{
    /// <summary>Names under the bars (bar charts) or under x = 0, 1, 2, ... (others); null for numeric ticks.</summary>
    public IReadOnlyList<string>? XTickLabels { get; init; }

    public bool LogX { get; init; }

    /// <summary>Where the legend sits inside the plot; put it where the data leaves room (falling curves: upper right).</summary>
    public ScottPlot.Alignment LegendCorner { get; init; } = ScottPlot.Alignment.LowerRight;

    public static Chart Bars(string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values) =>
        new(title, ChartKind.Bar, "", yLabel, [new ChartSeries(yLabel, Enumerable.Range(0, values.Count).Select(i => (double)i).ToArray(), values)])
        { XTickLabels = labels };

    public byte[] RenderPng(int width = 720, int height = 400)
    {
        foreach (var series in Series)
            if (series.X.Count != series.Y.Count)
                throw new ArgumentException($"chart '{Title}': series '{series.Name}' has {series.X.Count} x values but {series.Y.Count} y values");
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < Series.Count; i++)
        {
            var series = Series[i];
            var xs = series.X.Select(x => LogX ? Math.Log10(x) : x).ToArray();
            var ys = series.Y.ToArray();
            var color = palette.GetColor(i);
            var markerSize = series.Emphasised ? 15f : 5f;
            switch (series.Kind ?? Kind)
            {
                case ChartKind.Bar:
                    var bars = plot.Add.Bars(xs, ys);
                    bars.Color = color;
                    bars.LegendText = series.Name;
                    var barSeries = Series.Count(x => (x.Kind ?? Kind) == ChartKind.Bar);
                    // Narrower with several series, so offset x positions put them side by side.
                    foreach (var bar in bars.Bars) bar.Size = 0.8 / barSeries;
                    break;
                case ChartKind.Scatter:
                    var points = plot.Add.ScatterPoints(xs, ys);
                    points.Color = color;
                    points.MarkerSize = markerSize;
                    points.LegendText = series.Name;
                    break;
                default:
                    var line = plot.Add.Scatter(xs, ys);
                    line.Color = color;
                    line.MarkerSize = (series.Kind ?? Kind) == ChartKind.Curve ? 0 : markerSize;
                    line.LegendText = series.Name;
                    break;
            }
        }
        if (XTickLabels is not null)
        {
            plot.Axes.Bottom.SetTicks(Enumerable.Range(0, XTickLabels.Count).Select(i => (double)i).ToArray(), XTickLabels.ToArray());
            if (XTickLabels.Any(l => l.Length > 10))
            {
                // Long names would overlap: slant them and make room below the axis.
                plot.Axes.Bottom.TickLabelStyle.Rotation = -35;
                plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleRight;
                plot.Axes.Bottom.MinimumSize = 4.5f * XTickLabels.Max(l => l.Length);
            }
        }
        if (Series.All(x => (x.Kind ?? Kind) == ChartKind.Bar)) plot.Axes.Margins(bottom: 0);
        plot.Title(Title);
        plot.XLabel(LogX ? $"log10 {XLabel}" : XLabel);
        plot.YLabel(YLabel);
        if (Series.Count > 1) plot.ShowLegend(LegendCorner);
        else plot.HideLegend();
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }
}
