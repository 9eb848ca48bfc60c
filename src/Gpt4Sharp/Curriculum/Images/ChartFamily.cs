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
/// neighbouring bars. Every rationale reads the bars off the scale, left to right, one bar a
/// line ("purple 9"), and ends with the result, so the second stage of the chain of thought
/// only has to take it over. A value or trend rationale marks each bar the question names as
/// it reads it ("yellow is 8") and stops after the (last) named bar, so its result is the last
/// number written ("So 8.") or the last two compared ("So down."): the decoder never looks a
/// colour up in its own reading and copies the number beside it, the lookup a small decoder
/// never learned (value of a named bar at chance with "colour value" lookups). The reading
/// writes a colour at the start of a line, a different token from the question's " colour"
/// (the cl100k split keeps the space on the word), so deciding to mark a bar is a match of the
/// token just written against a token of the question that no token of the reading can
/// imitate.
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
        // The caption lists the bars as a legend would; the rationales read them a bar a line.
        var legend = string.Join(", ", colours.Select((c, i) => $"{c} {values[i]}"));
        string Read(int last, params int[] named) => string.Join("\n", Enumerable.Range(0, last + 1)
            .Select(i => named.Contains(i) ? $"{colours[i]} is {values[i]}" : $"{colours[i]} {values[i]}"));
        var all = Read(n - 1);
        var hi = Array.IndexOf(values, values.Max());
        var lo = Array.IndexOf(values, values.Min());
        var pick = rng.Next(n);
        var step = rng.Next(n - 1);
        var (from, to) = (values[step], values[step + 1]);
        var qa = new List<(string, string, string)>
        {
            ($"What is the value of the {colours[pick]} bar?", Str(values[pick]), $"{Read(pick, pick)}\nSo {values[pick]}."),
            ("Which bar is the highest?", colours[hi], $"{all}\nThe highest is {values[hi]}: {colours[hi]}."),
            ("What is the difference between the highest and the lowest bar?", Str(values[hi] - values[lo]),
                $"{all}\n{values[hi]} - {values[lo]} = {values[hi] - values[lo]}."),
        };
        if (from != to)
        {
            // The question always names the left bar first (neighbours step, step + 1), so the
            // reading meets them in the question's order and the trend is last number vs the one before.
            var trend = to > from ? "up" : "down";
            qa.Add(($"Does the value go up or down from the {colours[step]} bar to the {colours[step + 1]} bar?", trend,
                $"{Read(step + 1, step, step + 1)}\nSo {trend}."));
        }
        var caption = $"A bar chart of {n} bars: {legend}.";
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
