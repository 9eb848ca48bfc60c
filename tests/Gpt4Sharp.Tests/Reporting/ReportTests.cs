using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Reporting;

public class ReportTests
{
    static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];

    [Fact]
    public void ChartsRenderToPngHeadless()
    {
        foreach (var kind in Enum.GetValues<ChartKind>())
        {
            var png = new Chart("t", kind, "x", "y", [new ChartSeries("a", [1, 2, 3], [1, 4, 9]), new ChartSeries("b", [1, 2, 3], [2, 3, 4])]).RenderPng(320, 200);
            Assert.Equal(PngMagic, png[..4]);
            Assert.True(png.Length > 1000, $"{kind} chart is suspiciously small");
        }
        // Observed points with a fitted line on a log axis, as capability prediction plots them.
        var fit = new Chart("loss vs compute", ChartKind.Scatter, "compute", "loss",
            [new ChartSeries("observed", [1e3, 1e4, 1e5], [3.2, 2.7, 2.3]), new ChartSeries("fit", [1e3, 1e6], [3.2, 1.9], ChartKind.Line)]) { LogX = true };
        Assert.Equal(PngMagic, fit.RenderPng(320, 200)[..4]);
        Assert.Throws<ArgumentException>(() => new Chart("bad", ChartKind.Line, "x", "y", [new ChartSeries("a", [1, 2], [1])]).RenderPng());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FitChartShowsThePredictionOutsideTheLegend(bool legendUpperRight)
    {
        // A falling law with its predicted point at the far lower right, where the legend used to sit.
        var runs = new ChartSeries("runs", [1e3, 1e4, 1e5], [3.2, 2.7, 2.3], ChartKind.Scatter);
        var law = new ChartSeries("fit", [1e3, 1e5, 1e7], [3.2, 2.3, 1.9], ChartKind.Curve);
        var predicted = new ChartSeries("predicted", [1e7], [1.9], ChartKind.Scatter, Emphasised: true);
        var chart = new Chart("loss vs compute", ChartKind.Scatter, "compute", "loss", [runs, law, predicted]) { LogX = true };
        if (legendUpperRight) chart = chart with { LegendCorner = ScottPlot.Alignment.UpperRight };
        using var image = SkiaSharp.SKBitmap.Decode(chart.RenderPng(480, 300));
        var colour = new ScottPlot.Palettes.Category10().GetColor(2);
        // Only the right-most columns, where the point is drawn; the legend's own swatch lies further left.
        var pixels = 0;
        for (var y = 0; y < image.Height; y++)
            for (var x = image.Width * 7 / 8; x < image.Width; x++)
                if (image.GetPixel(x, y) is var p && Math.Abs(p.Red - colour.R) + Math.Abs(p.Green - colour.G) + Math.Abs(p.Blue - colour.B) < 30) pixels++;
        // An emphasised marker covers over 100 pixels; under a legend in the lower right none show.
        if (legendUpperRight) Assert.True(pixels > 100, $"the predicted point shows only {pixels} pixels");
        else Assert.True(pixels < 10, $"expected the lower-right legend to hide the point, but {pixels} pixels show");
    }

    [Fact]
    public void ReportIsSelfContainedAndEscapesEverything()
    {
        var dir = RepoPaths.NewTempDir();
        var path = new Report("<script>alert(1)</script>")
            .Section("S & T", "a < b")
            .KeyValues(("key\"", 0.123456789), ("n", 42))
            .Table(["col<1>", "col2"], [["<b>bold</b>", 1.5], ["x", null]])
            .Chart(Chart.Bars("Bars", "value", ["a", "b"], [1, 2]))
            .Save(dir);
        var html = File.ReadAllText(path);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("S &amp; T", html);
        Assert.Contains("&lt;b&gt;bold&lt;/b&gt;", html);
        Assert.Contains("0.1235", html);
        // One embedded PNG, no external references.
        var image = Regex.Match(html, "src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
        Assert.True(image.Success);
        Assert.Equal(PngMagic, Convert.FromBase64String(image.Groups[1].Value)[..4]);
        Assert.DoesNotMatch("(src|href)=\"(?!data:)", html);
        Assert.True(File.Exists(Path.Combine(dir, "charts", "bars.png")));
    }

    [Fact]
    public void ResultsRoundTripAndFlattenToNumbers()
    {
        var dir = RepoPaths.NewTempDir();
        Results.Write(dir, new { Suite = "code", PassAtK = new Dictionary<string, double> { ["pass@1"] = 0.5 }, Tiers = new[] { new { Solved = 3, Total = 4 } }, Ok = true });
        var flat = Results.FlattenNumbers(Results.Read(dir));
        Assert.Equal(new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["ok"] = 1, ["pass_at_k.pass@1"] = 0.5, ["tiers.0.solved"] = 3, ["tiers.0.total"] = 4,
        }, flat);
    }

    [Fact]
    public void MissingOrCorruptResultsAreClearErrors()
    {
        var dir = RepoPaths.NewTempDir();
        Assert.Contains("No results found", Assert.Throws<UserError>(() => Results.Read(dir)).Message);
        File.WriteAllText(Path.Combine(dir, Results.FileName), "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<UserError>(() => Results.Read(dir)).Message);
    }

    [Fact]
    public void ComparisonPairsMetricsAndComputesDeltas()
    {
        var a = JsonNode.Parse("""{"pass_at_k": {"pass@1": 0.25, "pass@10": 0.5}, "seconds": 10, "name": "x"}""")!;
        var b = JsonNode.Parse("""{"pass_at_k": {"pass@1": 0.5}, "seconds": 8, "extra": 1}""")!;
        var deltas = RunComparison.Compare(a, b);
        Assert.Equal(["extra", "pass_at_k.pass@1", "pass_at_k.pass@10", "seconds"], deltas.Select(d => d.Metric));
        Assert.Equal(0.25, deltas[1].Delta);
        Assert.Null(deltas[2].Delta);
        Assert.Equal(-2, deltas[3].Delta);
        var html = RunComparison.BuildReport("run-a", "run-b", deltas).ToHtml();
        Assert.Contains("pass_at_k.pass@10", html);
        Assert.Contains("data:image/png;base64,", html);
    }
}
