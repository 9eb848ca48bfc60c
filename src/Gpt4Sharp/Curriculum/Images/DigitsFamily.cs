using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// 64x64 pictures of a one- or two-digit number drawn as seven-segment strokes with varied
/// colour, size, stroke width, slant and position. Difficulty is the digit count.
/// </summary>
public sealed class DigitsFamily : ImageFamily
{
    // Segments a (top), b (top right), c (bottom right), d (bottom), e (bottom left), f (top left), g (middle).
    static readonly string[] Segments = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"];

    public override string Name => "digits";
    public override string Description => "One- or two-digit numbers drawn as seven-segment strokes (64x64 PNG): read the number, count digits, name the colour.";
    public override int Size => 64;

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var number = rng.Chance(0.4) ? rng.Range(0, 9) : rng.Range(10, 99);
        var text = number.ToString(CultureInfo.InvariantCulture);
        var colour = rng.Pick(Palette.Names);
        var height = rng.Range(22, 36);
        var scene = new JsonObject
        {
            ["number"] = number, ["colour"] = colour, ["height"] = height,
            ["stroke"] = rng.Range(3, 5), ["slant"] = rng.Range(-3, 3),
            ["dx"] = rng.Range(-6, 6), ["dy"] = rng.Range(-6, 6),
        };
        var qa = new List<(string, string, string)>
        {
            ("What number is shown?", text, $"The picture shows the digits {string.Join(" and ", text.ToCharArray())}, which read {text}."),
            ("How many digits does the number have?", Str(text.Length), $"The number is {text}, written with {text.Length} digit{(text.Length > 1 ? "s" : "")}."),
            ("What colour is the number?", colour, $"The strokes of {text} are {colour}."),
        };
        return Item(rng, "digits", text.Length, scene, $"The number {text} written in {colour}.", qa);
    }

    static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    protected override void Draw(SKCanvas canvas, JsonObject scene)
    {
        var text = ((int)scene["number"]!).ToString(CultureInfo.InvariantCulture);
        var h = (int)scene["height"]!;
        var w = h / 2;
        var gap = h / 4;
        var total = text.Length * w + (text.Length - 1) * gap;
        var x0 = (Size - total) / 2f + (int)scene["dx"]!;
        var y0 = (Size - h) / 2f + (int)scene["dy"]!;
        var slant = (int)scene["slant"]! / 10f;
        using var pen = Stroke(Palette.Of((string)scene["colour"]!), (int)scene["stroke"]!);
        foreach (var c in text)
        {
            // Segment end points in a unit box; y grows downwards, slant shifts upper points right.
            SKPoint P(float ux, float uy) => new(x0 + ux * w + (1 - uy) * h * slant, y0 + uy * h);
            foreach (var s in Segments[c - '0'])
            {
                var (a, b) = s switch
                {
                    'a' => (P(0, 0), P(1, 0)), 'b' => (P(1, 0), P(1, 0.5f)), 'c' => (P(1, 0.5f), P(1, 1)),
                    'd' => (P(0, 1), P(1, 1)), 'e' => (P(0, 0.5f), P(0, 1)), 'f' => (P(0, 0), P(0, 0.5f)),
                    _ => (P(0, 0.5f), P(1, 0.5f)),
                };
                canvas.DrawLine(a, b, pen);
            }
            x0 += w + gap;
        }
    }
}
