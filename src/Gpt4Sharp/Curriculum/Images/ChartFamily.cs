using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// Bar charts (96x96) of three or four bars, each bar its own palette colour (the colour is
/// the bar's label, as in a legend), standing on a value scale 0-9 with a gridline and a tick
/// number at every unit. The layout is built to stay legible when the image encoder shrinks
/// the picture to 48 px: one unit is <see cref="PixelsPerUnit"/> = 8 pixels (4 at 48 px) and
/// bars are 12-16 pixels wide, so a value is read from where the bar's top meets the grid
/// instead of from 3x5-pixel digits that shrink to one or two pixels. Questions: the value of
/// a bar, the highest bar, highest minus lowest, and the trend (up or down) between
/// neighbouring bars. Every rationale first reads all bars off the scale, left to right, and
/// ends with the result, so the second stage of the chain of thought only has to take it over.
/// Where a bar named in the question is needed again it is repeated as "colour value", the
/// pattern of the reading, so finding its value is a copy from the reading (the
/// previous-token/induction pattern a small decoder learns first) rather than a new look at
/// the picture.
/// </summary>
public sealed class ChartFamily : ImageFamily
{
    public const int Baseline = 84, PixelsPerUnit = 8, MinValue = 1, MaxValue = 9, Left = 12, Right = 92;

    public override string Name => "charts";
    public override string Description => "Bar charts of 3-4 coloured bars on a gridded 0-9 scale (96x96 PNG), value/highest/difference/trend questions.";
    public override int Size => 96;

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var n = rng.Range(3, 4);
        var colours = rng.Distinct(Palette.Names.Length, n).Select(i => Palette.Names[i]).ToArray();
        int[] values;
        do values = Enumerable.Range(0, n).Select(_ => rng.Range(MinValue, MaxValue)).ToArray();
        while (values.Count(v => v == values.Max()) > 1);
        var scene = new JsonObject
        {
            ["type"] = "bar",
            ["colours"] = new JsonArray(colours.Select(c => (JsonNode)c).ToArray()),
            ["values"] = new JsonArray(values.Select(v => (JsonNode)v).ToArray()),
        };
        var reading = string.Join(", ", colours.Select((c, i) => $"{c} {values[i]}"));
        var hi = Array.IndexOf(values, values.Max());
        var lo = Array.IndexOf(values, values.Min());
        var pick = rng.Next(n);
        var step = rng.Next(n - 1);
        var (from, to) = (values[step], values[step + 1]);
        var qa = new List<(string, string, string)>
        {
            ($"What is the value of the {colours[pick]} bar?", Str(values[pick]), $"{reading}. So {colours[pick]} {values[pick]}."),
            ("Which bar is the highest?", colours[hi], $"{reading}. The highest is {values[hi]}: {colours[hi]}."),
            ("What is the difference between the highest and the lowest bar?", Str(values[hi] - values[lo]),
                $"{reading}. {values[hi]} - {values[lo]} = {values[hi] - values[lo]}."),
        };
        if (from != to)
        {
            var trend = to > from ? "up" : "down";
            qa.Add(($"Does the value go up or down from the {colours[step]} bar to the {colours[step + 1]} bar?", trend,
                $"{reading}. So {colours[step]} {from}, {colours[step + 1]} {to}: {trend}."));
        }
        var caption = $"A bar chart of {n} bars: {reading}.";
        return Item(rng, "bar_chart", n - 2, scene, caption, qa);
    }

    static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Horizontal centre of slot i of n.</summary>
    public static int SlotCentre(int i, int n) => Left + (Right - Left) * (2 * i + 1) / (2 * n);

    /// <summary>Bar width in pixels; even, so the bar's edges stay on whole pixels at half size.</summary>
    public static int BarWidth(int n) => (Right - Left) / n * 3 / 5 / 2 * 2;

    /// <summary>The y of the gridline for value v (the top of a bar of that value).</summary>
    public static int ValueY(int v) => Baseline - v * PixelsPerUnit;

    protected override void Draw(SKCanvas canvas, JsonObject scene)
    {
        var colours = scene["colours"]!.AsArray().Select(c => (string)c!).ToArray();
        var values = scene["values"]!.AsArray().Select(v => (int)v!).ToArray();
        var n = values.Length;
        using var grid = Fill(new SKColor(205, 205, 205), antialias: false);
        for (var v = 1; v <= MaxValue; v++)
        {
            canvas.DrawRect(Left - 2, ValueY(v), Right - Left + 2, 1, grid);
            PixelFont.Draw(canvas, Str(v), 3, ValueY(v) - PixelFont.GlyphHeight / 2, new SKColor(90, 90, 90));
        }
        using var axis = Fill(new SKColor(60, 60, 60), antialias: false);
        canvas.DrawRect(Left - 2, Baseline, Right - Left + 2, 2, axis);
        PixelFont.Draw(canvas, "0", 3, Baseline - PixelFont.GlyphHeight / 2, new SKColor(90, 90, 90));
        var w = BarWidth(n);
        for (var i = 0; i < n; i++)
        {
            using var paint = Fill(Palette.Of(colours[i]), antialias: false);
            canvas.DrawRect(SlotCentre(i, n) - w / 2, ValueY(values[i]), w, values[i] * PixelsPerUnit, paint);
        }
    }
}
