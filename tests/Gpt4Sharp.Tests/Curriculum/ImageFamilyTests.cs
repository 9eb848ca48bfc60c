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
    public void Bar_heights_and_scale_ticks_in_the_pixels_match_the_json()
    {
        foreach (var item in Charts.Generate(2, Split.Train, 10))
        {
            using var bitmap = Charts.Render(item);
            var scene = item.Extra!["scene"]!;
            var values = scene["values"]!.AsArray().Select(v => (int)v!).ToArray();
            var colours = scene["colours"]!.AsArray().Select(c => (string)c!).ToArray();
            Assert.Equal(colours.Length, colours.Distinct().Count());
            for (var i = 0; i < values.Length; i++)
            {
                var x = ChartFamily.SlotCentre(i, values.Length);
                var colour = Palette.Of(colours[i]);
                Assert.Equal(values[i] * ChartFamily.PixelsPerUnit, Enumerable.Range(0, Charts.Size).Count(y => bitmap.GetPixel(x, y) == colour));
                Assert.Equal(colour, bitmap.GetPixel(x, ChartFamily.ValueY(values[i])));
            }
            bool Ink(int px, int py) => bitmap.GetPixel(px, py).Red < 128;
            for (var v = 0; v <= ChartFamily.MaxValue; v++)
                Assert.Equal((char)('0' + v), PixelFont.Read(Ink, 3, ChartFamily.ValueY(v) - PixelFont.GlyphHeight / 2));
        }
    }

    [Fact]
    public void Bar_values_stay_measurable_at_the_image_encoders_48_pixels()
    {
        // What the CLIP encoder sees: the 96 px chart scaled to 48 px. A bar of value v must
        // still cover exactly 4v rows of its column, so one unit is a clean 4-pixel step.
        var options = new Gpt4Sharp.Vision.ImageOptions { Size = 48 };
        using var blank = new SKBitmap(Charts.Size, Charts.Size);
        blank.Erase(SKColors.White);
        using var white = Gpt4Sharp.Vision.ImageInput.FromBitmap(blank, options);
        foreach (var item in Charts.Generate(3, Split.Train, 8))
        {
            using var bitmap = Charts.Render(item);
            using var pixels = Gpt4Sharp.Vision.ImageInput.FromBitmap(bitmap, options);
            var values = item.Extra!["scene"]!["values"]!.AsArray().Select(v => (int)v!).ToArray();
            for (var i = 0; i < values.Length; i++)
            {
                var x = ChartFamily.SlotCentre(i, values.Length) / 2;
                // Above the axis, a bar row differs from the white background by far more than a gridline does.
                var rows = Enumerable.Range(0, ChartFamily.Baseline / 2).Count(y =>
                    Enumerable.Range(0, 3).Sum(c => Math.Abs(pixels[c, y, x].item<float>() - white[c, y, x].item<float>())) > 1.5f);
                Assert.Equal(values[i] * ChartFamily.PixelsPerUnit / 2, rows);
            }
        }
    }

    [Fact]
    public void Every_chart_rationale_reads_the_bars_a_line_each_up_to_the_last_it_needs_and_ends_with_the_answer()
    {
        foreach (var item in Charts.Generate(4, Split.Train, 30))
        {
            var scene = item.Extra!["scene"]!;
            var colours = scene["colours"]!.AsArray().Select(c => (string)c!).ToArray();
            foreach (var qa in item.Extra["qa"]!.AsArray())
            {
                var question = (string)qa!["question"]!;
                var rationale = (string)qa["rationale"]!;
                var named = Enumerable.Range(0, colours.Length).Where(i => question.Contains($" {colours[i]} bar", StringComparison.Ordinal)).ToArray();
                var last = named.Length == 0 ? colours.Length - 1 : named.Max();
                var lines = Enumerable.Range(0, last + 1).Select(i => $"{colours[i]}{(named.Contains(i) ? " is" : "")} {scene["values"]![i]}");
                Assert.StartsWith(string.Join("\n", lines) + "\n", rationale);
                Assert.Equal(last + 2, rationale.Split('\n').Length);
                Assert.EndsWith($" {qa["answer"]}.", rationale);
            }
        }
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
        var label = items.First(i => i.Prompt.StartsWith("Which bar", StringComparison.Ordinal));
        Assert.True(Charts.Check(label, $"The {label.Answer.ToUpperInvariant()}.").Correct);
        var others = label.Extra!["scene"]!["colours"]!.AsArray().Select(l => (string)l!).Where(l => l != label.Answer);
        Assert.All(others, l => Assert.False(Charts.Check(label, l).Correct));
        var trend = items.First(i => i.Prompt.StartsWith("Does the value", StringComparison.Ordinal));
        Assert.False(Charts.Check(trend, trend.Answer == "up" ? "down" : "up").Correct);
        Assert.False(Charts.Check(trend, $"answer: {trend.Answer}\nanswer: {(trend.Answer == "up" ? "down" : "up")}").Correct);
    }
}
