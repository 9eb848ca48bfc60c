using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// A 3x5 pixel font for digits and capital letters. SkiaSharp's default typeface is whatever
/// the machine has installed (DejaVu Serif on the dev box, nothing on a bare container), so
/// system text would make the same seed draw different images on different machines. At
/// 64-96 pixels a crisp pixel font also stays legible where a TrueType face blurs, and its
/// exact pixels let tests read labels back.
/// </summary>
public static class PixelFont
{
    public const int GlyphWidth = 3, GlyphHeight = 5;

    // Each glyph is five rows of three pixels, '#' = ink.
    static readonly Dictionary<char, string> Glyphs = new()
    {
        ['0'] = "###" + "#.#" + "#.#" + "#.#" + "###", ['1'] = ".#." + "##." + ".#." + ".#." + "###",
        ['2'] = "###" + "..#" + "###" + "#.." + "###", ['3'] = "###" + "..#" + ".##" + "..#" + "###",
        ['4'] = "#.#" + "#.#" + "###" + "..#" + "..#", ['5'] = "###" + "#.." + "###" + "..#" + "###",
        ['6'] = "###" + "#.." + "###" + "#.#" + "###", ['7'] = "###" + "..#" + ".#." + ".#." + ".#.",
        ['8'] = "###" + "#.#" + "###" + "#.#" + "###", ['9'] = "###" + "#.#" + "###" + "..#" + "###",
        ['A'] = ".#." + "#.#" + "###" + "#.#" + "#.#", ['B'] = "##." + "#.#" + "##." + "#.#" + "##.",
        ['C'] = "###" + "#.." + "#.." + "#.." + "###", ['D'] = "##." + "#.#" + "#.#" + "#.#" + "##.",
        ['E'] = "###" + "#.." + "##." + "#.." + "###", ['F'] = "###" + "#.." + "##." + "#.." + "#..",
        ['G'] = "###" + "#.." + "#.#" + "#.#" + "###", ['H'] = "#.#" + "#.#" + "###" + "#.#" + "#.#",
        ['I'] = "###" + ".#." + ".#." + ".#." + "###", ['J'] = "..#" + "..#" + "..#" + "#.#" + "###",
        ['K'] = "#.#" + "#.#" + "##." + "#.#" + "#.#", ['L'] = "#.." + "#.." + "#.." + "#.." + "###",
        ['M'] = "#.#" + "###" + "###" + "#.#" + "#.#", ['N'] = "##." + "#.#" + "#.#" + "#.#" + "#.#",
        ['O'] = ".#." + "#.#" + "#.#" + "#.#" + ".#.", ['P'] = "###" + "#.#" + "###" + "#.." + "#..",
        ['Q'] = "###" + "#.#" + "#.#" + "###" + "..#", ['R'] = "##." + "#.#" + "##." + "#.#" + "#.#",
        ['S'] = ".##" + "#.." + ".#." + "..#" + "##.", ['T'] = "###" + ".#." + ".#." + ".#." + ".#.",
        ['U'] = "#.#" + "#.#" + "#.#" + "#.#" + "###", ['V'] = "#.#" + "#.#" + "#.#" + "#.#" + ".#.",
        ['W'] = "#.#" + "#.#" + "###" + "###" + "#.#", ['X'] = "#.#" + "#.#" + ".#." + "#.#" + "#.#",
        ['Y'] = "#.#" + "#.#" + ".#." + ".#." + ".#.", ['Z'] = "###" + "..#" + ".#." + "#.." + "###",
        ['-'] = "..." + "..." + "###" + "..." + "...", [' '] = "..." + "..." + "..." + "..." + "...",
    };

    /// <summary>Width in pixels of <paramref name="text"/> at <paramref name="scale"/> (one blank column between glyphs).</summary>
    public static int Width(string text, int scale = 1) => text.Length == 0 ? 0 : (text.Length * (GlyphWidth + 1) - 1) * scale;

    public static void Draw(SKCanvas canvas, string text, int x, int y, SKColor color, int scale = 1)
    {
        using var paint = new SKPaint { Color = color, IsAntialias = false, Style = SKPaintStyle.Fill };
        foreach (var c in text)
        {
            var glyph = Glyphs.TryGetValue(c, out var g) ? g : throw new ArgumentException($"the pixel font has no glyph for '{c}'");
            for (var i = 0; i < glyph.Length; i++)
                if (glyph[i] == '#')
                    canvas.DrawRect(x + i % GlyphWidth * scale, y + i / GlyphWidth * scale, scale, scale, paint);
            x += (GlyphWidth + 1) * scale;
        }
    }

    /// <summary>Reads a glyph back from pixels (tests use it to prove labels are legible).</summary>
    public static char? Read(Func<int, int, bool> ink, int x, int y, int scale = 1)
    {
        var pattern = new char[GlyphWidth * GlyphHeight];
        for (var i = 0; i < pattern.Length; i++)
            pattern[i] = ink(x + i % GlyphWidth * scale, y + i / GlyphWidth * scale) ? '#' : '.';
        var s = new string(pattern);
        foreach (var (c, g) in Glyphs) if (g == s) return c;
        return null;
    }
}
