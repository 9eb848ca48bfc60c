using System.Text.Json.Nodes;
using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// 64x64 scenes (meadow, sea, snowfield, street) built from simple drawn objects, each with
/// exactly one object that does not belong (a fish on the street, a car under the sea).
/// </summary>
public sealed class ScenesFamily : ImageFamily
{
    sealed record Setting(string Name, string Phrase, string[] Belongs, string[] OutOfPlace, string Why);

    static readonly Setting[] Settings =
    [
        new("meadow", "a meadow", ["sun", "cloud", "tree", "flower", "house"], ["fish", "boat", "snowman"], "it does not belong in a meadow"),
        new("sea", "the sea", ["sun", "cloud", "boat", "fish"], ["car", "tree", "house", "snowman"], "it does not belong at sea"),
        new("snowfield", "a snowy field", ["snowman", "tree", "cloud"], ["fish", "boat", "flower"], "it does not belong in the snow"),
        new("street", "a street", ["house", "car", "tree", "sun"], ["fish", "boat", "snowman"], "it does not belong on a street"),
    ];

    // Slots are (x, y) anchors: three on the ground or in the water, two in the sky.
    static readonly (float X, float Y)[] GroundSlots = [(12, 46), (32, 48), (52, 46)];
    static readonly (float X, float Y)[] SkySlots = [(14, 12), (48, 12)];
    static readonly HashSet<string> SkyObjects = ["sun", "cloud"];

    public override string Name => "scenes";
    public override string Description => "Simple scenes with one out-of-place object (64x64 PNG): what does not belong, is there an X.";
    public override int Size => 64;

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var setting = rng.Pick(Settings);
        var odd = rng.Pick(setting.OutOfPlace);
        var ground = setting.Belongs.Where(o => !SkyObjects.Contains(o)).ToArray();
        var sky = setting.Belongs.Where(SkyObjects.Contains).ToArray();
        var normal = rng.Distinct(ground.Length, Math.Min(2, ground.Length)).Select(i => ground[i]).ToList();
        var objects = new List<(string Obj, float X, float Y)>();
        var slots = rng.Distinct(GroundSlots.Length, normal.Count + 1);
        for (var i = 0; i < normal.Count; i++) objects.Add((normal[i], GroundSlots[slots[i]].X, GroundSlots[slots[i]].Y));
        objects.Add((odd, GroundSlots[slots[^1]].X, GroundSlots[slots[^1]].Y));
        var skyPicked = sky.Length == 0 ? [] : rng.Distinct(sky.Length, rng.Range(0, sky.Length)).Select(i => sky[i]).ToList();
        for (var i = 0; i < skyPicked.Count; i++) objects.Add((skyPicked[i], SkySlots[i].X, SkySlots[i].Y));
        var scene = new JsonObject
        {
            ["setting"] = setting.Name,
            ["objects"] = new JsonArray(objects.Select(o => (JsonNode)new JsonObject { ["object"] = o.Obj, ["x"] = o.X, ["y"] = o.Y }).ToArray()),
            ["odd"] = odd,
        };
        var names = objects.Select(o => o.Obj).Where(o => o != odd).ToList();
        var listing = names.Count == 1 ? $"a {names[0]}" : string.Join(", ", names.Take(names.Count - 1).Select(n => $"a {n}")) + $" and a {names[^1]}";
        var caption = $"{Cap(setting.Phrase)} with {listing}, and a {odd} that does not belong.";
        var present = rng.Pick(names);
        var absent = rng.Pick(new[] { "fish", "boat", "snowman", "car", "house", "tree", "flower", "sun", "cloud" }.Where(o => objects.All(p => p.Obj != o)).ToArray());
        var qa = new List<(string, string, string)>
        {
            ("What does not belong in this picture?", odd, $"This is {setting.Phrase} with {listing}. There is also a {odd}, and {setting.Why}."),
            ($"Is there a {present} in the picture?", "yes", $"Yes: the picture shows {listing}."),
            ($"Is there a {absent} in the picture?", "no", $"The picture shows {listing} and a {odd}, but no {absent}."),
            ("Where is this scene?", setting.Name, $"The background and the {names[0]} show {setting.Phrase}."),
        };
        return Item(rng, "incongruous", 1, scene, caption, qa);
    }

    static string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    protected override void Draw(SKCanvas canvas, JsonObject scene)
    {
        var setting = (string)scene["setting"]!;
        var (sky, ground) = setting switch
        {
            "sea" => (new SKColor(170, 210, 245), new SKColor(30, 90, 180)),
            "snowfield" => (new SKColor(215, 225, 240), new SKColor(250, 250, 252)),
            "street" => (new SKColor(170, 210, 245), new SKColor(110, 110, 115)),
            _ => (new SKColor(170, 210, 245), new SKColor(90, 180, 80)),
        };
        using (var paint = Fill(sky)) canvas.DrawRect(0, 0, Size, 32, paint);
        using (var paint = Fill(ground)) canvas.DrawRect(0, 32, Size, 32, paint);
        foreach (var node in scene["objects"]!.AsArray())
            DrawObject(canvas, (string)node!["object"]!, (float)node["x"]!, (float)node["y"]!);
    }

    static void DrawObject(SKCanvas c, string obj, float x, float y)
    {
        using var black = Fill(SKColors.Black);
        switch (obj)
        {
            case "sun":
                using (var p = Fill(new SKColor(250, 210, 40))) c.DrawCircle(x, y, 6, p);
                break;
            case "cloud":
                using (var p = Fill(SKColors.White)) { c.DrawCircle(x - 5, y + 1, 4, p); c.DrawCircle(x, y - 1, 5, p); c.DrawCircle(x + 5, y + 1, 4, p); }
                break;
            case "tree":
                using (var trunk = Fill(new SKColor(120, 80, 40))) c.DrawRect(x - 1.5f, y - 4, 3, 10, trunk);
                using (var leaves = Fill(new SKColor(30, 120, 40))) c.DrawCircle(x, y - 8, 6, leaves);
                break;
            case "flower":
                using (var stem = Fill(new SKColor(30, 120, 40))) c.DrawRect(x - 0.5f, y - 4, 1.5f, 9, stem);
                using (var petals = Fill(new SKColor(230, 80, 160))) c.DrawCircle(x, y - 6, 3.5f, petals);
                using (var mid = Fill(new SKColor(250, 220, 60))) c.DrawCircle(x, y - 6, 1.5f, mid);
                break;
            case "house":
                using (var wall = Fill(new SKColor(230, 200, 150))) c.DrawRect(x - 7, y - 6, 14, 11, wall);
                using (var roof = Fill(new SKColor(190, 50, 40)))
                using (var path = new SKPath())
                {
                    path.MoveTo(x - 9, y - 6); path.LineTo(x, y - 14); path.LineTo(x + 9, y - 6); path.Close();
                    c.DrawPath(path, roof);
                }
                using (var door = Fill(new SKColor(110, 70, 40))) c.DrawRect(x - 1.5f, y - 1, 3, 6, door);
                break;
            case "car":
                using (var body = Fill(new SKColor(210, 40, 40))) { c.DrawRect(x - 8, y - 4, 16, 5, body); c.DrawRect(x - 4, y - 8, 8, 4, body); }
                c.DrawCircle(x - 5, y + 2, 2, black);
                c.DrawCircle(x + 5, y + 2, 2, black);
                break;
            case "boat":
                using (var hull = Fill(new SKColor(130, 80, 40)))
                using (var path = new SKPath())
                {
                    path.MoveTo(x - 8, y - 2); path.LineTo(x + 8, y - 2); path.LineTo(x + 5, y + 2); path.LineTo(x - 5, y + 2); path.Close();
                    c.DrawPath(path, hull);
                }
                using (var sail = Fill(SKColors.White))
                using (var path = new SKPath())
                {
                    path.MoveTo(x, y - 12); path.LineTo(x + 6, y - 3); path.LineTo(x, y - 3); path.Close();
                    c.DrawPath(path, sail);
                }
                break;
            case "fish":
                using (var body = Fill(new SKColor(250, 140, 30)))
                {
                    c.DrawOval(x, y, 6, 3.5f, body);
                    using var tail = new SKPath();
                    tail.MoveTo(x + 5, y); tail.LineTo(x + 10, y - 4); tail.LineTo(x + 10, y + 4); tail.Close();
                    c.DrawPath(tail, body);
                }
                c.DrawCircle(x - 3, y - 1, 0.9f, black);
                break;
            case "snowman":
                using (var snow = Fill(SKColors.White)) { c.DrawCircle(x, y + 1, 5, snow); c.DrawCircle(x, y - 7, 3.5f, snow); }
                using (var outline = Stroke(new SKColor(150, 150, 160), 0.8f)) { c.DrawCircle(x, y + 1, 5, outline); c.DrawCircle(x, y - 7, 3.5f, outline); }
                using (var nose = Fill(new SKColor(250, 130, 30))) c.DrawRect(x, y - 7, 3, 1, nose);
                break;
            default:
                throw new InvalidOperationException($"no drawing for {obj}");
        }
    }
}
