using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// Bar and line charts (96x96) with a pixel-font value over every bar or point and a label
/// under it. Layout is fixed so values are measurable: a value v rises v * <see cref="PixelsPerUnit"/>
/// pixels above the baseline row.
/// </summary>
public sealed class ChartFamily : ImageFamily
{
    public const int Baseline = 84, PixelsPerUnit = 3, MaxValue = 20, Left = 4, Right = 92;

    static readonly string[] Months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    static readonly string[] Days = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

    public override string Name => "charts";
    public override string Description => "Bar and line charts with labelled values (96x96 PNG), value/maximum/difference/trend questions.";
    public override int Size => 96;

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var bar = rng.Chance(0.5);
        var n = bar ? rng.Range(3, 5) : rng.Range(4, 6);
        var axis = rng.Chance(0.5) ? Months : Days;
        var start = rng.Next(axis.Length - n + 1);
        var labels = axis.Skip(start).Take(n).ToArray();
        int[] values;
        do values = Enumerable.Range(0, n).Select(_ => rng.Range(bar ? 1 : 0, MaxValue)).ToArray();
        while (values.Count(v => v == values.Max()) > 1);
        var colour = rng.Pick(Palette.Names);
        var scene = new JsonObject
        {
            ["type"] = bar ? "bar" : "line",
            ["labels"] = new JsonArray(labels.Select(l => (JsonNode)l).ToArray()),
            ["values"] = new JsonArray(values.Select(v => (JsonNode)v).ToArray()),
            ["colour"] = colour,
        };
        var listing = string.Join(", ", labels.Select((l, i) => $"{l} {values[i]}"));
        var hi = Array.IndexOf(values, values.Max());
        var lo = Array.IndexOf(values, values.Min());
        var pick = rng.Next(n);
        var qa = new List<(string, string, string)>
        {
            ($"What is the value for {labels[pick]}?", Str(values[pick]), $"The value written at {labels[pick]} is {values[pick]}."),
            ("Which label has the highest value?", labels[hi], $"The values are {listing}. The highest is {labels[hi]} with {values[hi]}."),
            ("What is the difference between the highest and the lowest value?", Str(values[hi] - values[lo]),
                $"The highest is {labels[hi]} with {values[hi]} and the lowest is {labels[lo]} with {values[lo]}; {values[hi]} - {values[lo]} = {values[hi] - values[lo]}."),
        };
        if (bar)
            qa.Add(("What is the total of all values?", Str(values.Sum()), $"{string.Join(" + ", values)} = {values.Sum()}."));
        else
        {
            var i = rng.Next(n - 1);
            if (values[i] != values[i + 1])
            {
                var up = values[i + 1] > values[i];
                qa.Add(($"Does the value go up or down from {labels[i]} to {labels[i + 1]}?", up ? "up" : "down",
                    $"{labels[i]} is {values[i]} and {labels[i + 1]} is {values[i + 1]}, so it goes {(up ? "up" : "down")}."));
            }
        }
        var caption = $"A {colour} {(bar ? "bar" : "line")} chart of {n} values: {listing}.";
        return Item(rng, bar ? "bar_chart" : "line_chart", bar ? 1 : 2, scene, caption, qa);
    }

    static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Horizontal centre of slot i of n.</summary>
    public static int SlotCentre(int i, int n) => Left + (Right - Left) * (2 * i + 1) / (2 * n);

    public static int BarWidth(int n) => (Right - Left) / n * 3 / 5;

    protected override void Draw(SKCanvas canvas, JsonObject scene)
    {
        var labels = scene["labels"]!.AsArray().Select(l => (string)l!).ToArray();
        var values = scene["values"]!.AsArray().Select(v => (int)v!).ToArray();
        var colour = Palette.Of((string)scene["colour"]!);
        var n = values.Length;
        using var axis = Fill(new SKColor(120, 120, 120), antialias: false);
        canvas.DrawRect(2, Baseline, Size - 4, 1, axis);
        var points = new SKPoint[n];
        for (var i = 0; i < n; i++)
        {
            var cx = SlotCentre(i, n);
            var top = Baseline - values[i] * PixelsPerUnit;
            points[i] = new SKPoint(cx, top);
            PixelFont.Draw(canvas, labels[i], cx - PixelFont.Width(labels[i]) / 2, Baseline + 3, SKColors.Black);
        }
        if ((string)scene["type"]! == "bar")
        {
            var w = BarWidth(n);
            using var paint = Fill(colour, antialias: false);
            for (var i = 0; i < n; i++)
                canvas.DrawRect(points[i].X - w / 2, points[i].Y, w, values[i] * PixelsPerUnit, paint);
        }
        else
        {
            using var line = Stroke(colour.WithAlpha(140), 1);
            for (var i = 0; i + 1 < n; i++) canvas.DrawLine(points[i], points[i + 1], line);
            using var marker = Fill(colour, antialias: false);
            foreach (var p in points) canvas.DrawRect(p.X - 1, p.Y - 1, 3, 3, marker);
        }
        for (var i = 0; i < n; i++)
        {
            var text = Str(values[i]);
            PixelFont.Draw(canvas, text, (int)points[i].X - PixelFont.Width(text) / 2, (int)points[i].Y - 8, SKColors.Black);
        }
    }
}
