using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Images;
using SkiaSharp;

namespace Gpt4Sharp.Tests.Curriculum;

public class ImageFamilyTests
{
    static readonly ChartFamily Charts = new();

    [Fact]
    public void Pngs_decode_at_the_stated_size_for_every_picture_family()
    {
        foreach (var family in CurriculumRegistry.All.OfType<ImageFamily>())
            foreach (var item in family.Generate(1, Split.Train, 5))
            {
                using var bitmap = SKBitmap.Decode(family.RenderPng(item));
                Assert.NotNull(bitmap);
                Assert.Equal(family.Size, bitmap.Width);
                Assert.Equal((int)item.Extra!["width"]!, bitmap.Width);
                // Something was drawn: more than one colour in the picture.
                Assert.True(Enumerable.Range(0, family.Size).SelectMany(y => Enumerable.Range(0, family.Size).Select(x => bitmap.GetPixel(x, y))).Distinct().Count() > 2);
                Assert.NotEmpty(item.Extra["qa"]!.AsArray());
                Assert.False(string.IsNullOrWhiteSpace((string)item.Extra["caption"]!));
            }
    }

    [Fact]
    public void Bar_heights_and_value_labels_in_the_pixels_match_the_json()
    {
        foreach (var item in Charts.Generate(2, Split.Train, 60).Where(i => i.Kind == "bar_chart").Take(10))
        {
            using var bitmap = Charts.Render(item);
            var scene = item.Extra!["scene"]!;
            var values = scene["values"]!.AsArray().Select(v => (int)v!).ToArray();
            var labels = scene["labels"]!.AsArray().Select(v => (string)v!).ToArray();
            var colour = Palette.Of((string)scene["colour"]!);
            for (var i = 0; i < values.Length; i++)
            {
                var x = ChartFamily.SlotCentre(i, values.Length);
                var barPixels = Enumerable.Range(0, Charts.Size).Count(y => bitmap.GetPixel(x, y) == colour);
                Assert.Equal(values[i] * ChartFamily.PixelsPerUnit, barPixels);
                Assert.Equal(values[i].ToString(), ReadText(bitmap, values[i].ToString().Length, x, ChartFamily.Baseline - values[i] * ChartFamily.PixelsPerUnit - 8));
                Assert.Equal(labels[i], ReadText(bitmap, 3, x, ChartFamily.Baseline + 3));
            }
        }
    }

    [Fact]
    public void Line_markers_sit_at_their_values()
    {
        foreach (var item in Charts.Generate(3, Split.Train, 40).Where(i => i.Kind == "line_chart").Take(8))
        {
            using var bitmap = Charts.Render(item);
            var scene = item.Extra!["scene"]!;
            var values = scene["values"]!.AsArray().Select(v => (int)v!).ToArray();
            var colour = Palette.Of((string)scene["colour"]!);
            for (var i = 0; i < values.Length; i++)
                Assert.Equal(colour, bitmap.GetPixel(ChartFamily.SlotCentre(i, values.Length), ChartFamily.Baseline - values[i] * ChartFamily.PixelsPerUnit));
        }
    }

    static string ReadText(SKBitmap bitmap, int chars, int centreX, int y)
    {
        var left = centreX - (chars * 4 - 1) / 2;
        bool Ink(int px, int py) => bitmap.GetPixel(px, py) == SKColors.Black;
        return new string(Enumerable.Range(0, chars).Select(k => PixelFont.Read(Ink, left + 4 * k, y) ?? '?').ToArray());
    }

    [Fact]
    public void Pixel_font_glyphs_are_distinct_and_read_back()
    {
        using var bitmap = new SKBitmap(200, 8);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            PixelFont.Draw(canvas, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[..36], 1, 1, SKColors.Black);
        }
        var read = new string(Enumerable.Range(0, 36).Select(k => PixelFont.Read((x, y) => bitmap.GetPixel(x, y) == SKColors.Black, 1 + 4 * k, 1) ?? '?').ToArray());
        Assert.Equal("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", read);
    }

    [Fact]
    public void Shapes_are_drawn_in_their_colour_at_their_cell()
    {
        var shapes = new ShapesFamily();
        foreach (var item in shapes.Generate(4, Split.Train, 10))
        {
            using var bitmap = shapes.Render(item);
            foreach (var s in item.Extra!["scene"]!["shapes"]!.AsArray())
            {
                var (x, y) = ShapesFamily.CellCentre((int)s!["cell"]!);
                Assert.Equal(Palette.Of((string)s["colour"]!), bitmap.GetPixel((int)x, (int)y + 2));
            }
        }
    }

    [Fact]
    public void Image_checker_accepts_variants_and_rejects_wrong_answers()
    {
        var items = new ShapesFamily().Generate(5, Split.Eval, 100).ToList();
        var family = new ShapesFamily();
        var colour = items.First(i => i.Prompt.StartsWith("What colour", StringComparison.Ordinal));
        Assert.True(family.Check(colour, $"The {colour.Answer.ToUpperInvariant()}.").Correct);
        Assert.True(family.Check(colour, $"Looking closely.\nanswer: {colour.Answer}").Correct);
        Assert.False(family.Check(colour, Palette.Names.First(n => n != colour.Answer)).Correct);
        Assert.False(family.Check(colour, $"{colour.Answer} or blue").Correct);
        var count = items.First(i => i.Prompt.StartsWith("How many shapes", StringComparison.Ordinal));
        Assert.True(family.Check(count, count.Answer).Correct);
        Assert.False(family.Check(count, (int.Parse(count.Answer) + 1).ToString()).Correct);
        Assert.False(family.Check(count, $"{count.Answer} or {int.Parse(count.Answer) + 1}").Correct);
        var scenes = new ScenesFamily();
        var odd = scenes.Generate(6, Split.Train, 50).First(i => i.Prompt.StartsWith("What does not belong", StringComparison.Ordinal));
        Assert.True(scenes.Check(odd, $"a {odd.Answer}").Correct);
        Assert.False(scenes.Check(odd, "the sun").Correct);
    }

    [Fact]
    public void Chart_checker_rejects_wrong_values_labels_and_trends()
    {
        var items = Charts.Generate(7, Split.Eval, 200).ToList();
        var value = items.First(i => i.Prompt.StartsWith("What is the value", StringComparison.Ordinal));
        Assert.True(Charts.Check(value, $"answer: {value.Answer}").Correct);
        Assert.False(Charts.Check(value, $"answer: {int.Parse(value.Answer) + 1}").Correct);
        Assert.False(Charts.Check(value, $"{value.Answer} units").Correct);
        var label = items.First(i => i.Prompt.StartsWith("Which label", StringComparison.Ordinal));
        Assert.True(Charts.Check(label, label.Answer.ToLowerInvariant()).Correct);
        var others = label.Extra!["scene"]!["labels"]!.AsArray().Select(l => (string)l!).Where(l => l != label.Answer);
        Assert.All(others, l => Assert.False(Charts.Check(label, l).Correct));
        var trend = items.First(i => i.Prompt.StartsWith("Does the value", StringComparison.Ordinal));
        Assert.False(Charts.Check(trend, trend.Answer == "up" ? "down" : "up").Correct);
        Assert.False(Charts.Check(trend, $"answer: {trend.Answer}\nanswer: {(trend.Answer == "up" ? "down" : "up")}").Correct);
    }
}
