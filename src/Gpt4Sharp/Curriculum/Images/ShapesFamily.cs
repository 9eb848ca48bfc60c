using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// 64x64 pictures of 1-5 coloured circles, squares and triangles on a 3x3 grid, with
/// counting, colour, shape and position questions. Difficulty is the number of shapes.
/// </summary>
public sealed class ShapesFamily : ImageFamily
{
    public static readonly string[] Shapes = ["circle", "square", "triangle"];
    public static readonly string[] Positions = ["top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom", "bottom right"];
    static readonly string[] CountWords = ["no", "one", "two", "three", "four", "five"];

    public override string Name => "shapes";
    public override string Description => "Coloured circles, squares and triangles on a 3x3 grid (64x64 PNG): count, colour, shape and position questions.";
    public override int Size => 64;

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var n = rng.Range(1, 5);
        var cells = rng.Distinct(9, n).Order().ToArray();
        var shapes = cells.Select(c => (Cell: c, Shape: rng.Pick(Shapes), Colour: rng.Pick(Palette.Names))).ToList();
        var scene = new JsonObject
        {
            ["shapes"] = new JsonArray(shapes.Select(s => (JsonNode)new JsonObject { ["cell"] = s.Cell, ["shape"] = s.Shape, ["colour"] = s.Colour }).ToArray()),
        };
        string Describe((int Cell, string Shape, string Colour) s) => $"a {s.Colour} {s.Shape} {(s.Cell == 4 ? "in the" : "at the")} {Positions[s.Cell]}";
        var listing = Join(shapes.Select(Describe).ToList());
        var caption = $"{Cap(CountWords[n])} shape{(n > 1 ? "s" : "")}: {listing}.";
        var qa = new List<(string, string, string)>
        {
            ("How many shapes are there?", Str(n), $"I see {listing}. That is {n}."),
        };
        var colour = rng.Pick(Palette.Names);
        var same = shapes.Where(s => s.Colour == colour).ToList();
        qa.Add(($"How many {colour} shapes are there?", Str(same.Count),
            same.Count == 0 ? $"None of the shapes is {colour}." : $"The {colour} ones: {Join(same.Select(Describe).ToList())}. That is {same.Count}."));
        var one = rng.Pick(shapes);
        var there = $"{(one.Cell == 4 ? "In the" : "At the")} {Positions[one.Cell]} there is a {one.Colour} {one.Shape}.";
        qa.Add(($"What colour is the {one.Shape} at the {Positions[one.Cell]}?", one.Colour, there));
        qa.Add(($"What shape is at the {Positions[one.Cell]}?", one.Shape, there));
        if (shapes.Count(s => s.Shape == one.Shape && s.Colour == one.Colour) == 1)
            qa.Add(($"Where is the {one.Colour} {one.Shape}?", Positions[one.Cell], $"The {one.Colour} {one.Shape} is {(one.Cell == 4 ? "in the" : "at the")} {Positions[one.Cell]}."));
        return Item(rng, "shapes", n, scene, caption, qa);
    }

    static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);
    static string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..];
    static string Join(IReadOnlyList<string> parts) => parts.Count == 1 ? parts[0] : string.Join(", ", parts.Take(parts.Count - 1)) + " and " + parts[^1];

    /// <summary>Centre of grid cell c (row-major, 0..8).</summary>
    public static (float X, float Y) CellCentre(int c) => (10.5f + c % 3 * 21.5f, 10.5f + c / 3 * 21.5f);

    protected override void Draw(SKCanvas canvas, JsonObject scene)
    {
        foreach (var node in scene["shapes"]!.AsArray())
        {
            var (x, y) = CellCentre((int)node!["cell"]!);
            using var paint = Fill(Palette.Of((string)node["colour"]!));
            const float r = 7.5f;
            switch ((string)node["shape"]!)
            {
                case "circle": canvas.DrawCircle(x, y, r, paint); break;
                case "square": canvas.DrawRect(x - r + 1, y - r + 1, 2 * r - 2, 2 * r - 2, paint); break;
                default:
                    using (var path = new SKPath())
                    {
                        path.MoveTo(x, y - r);
                        path.LineTo(x + r, y + r - 1);
                        path.LineTo(x - r, y + r - 1);
                        path.Close();
                        canvas.DrawPath(path, paint);
                    }
                    break;
            }
        }
    }
}
