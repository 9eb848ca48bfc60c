using System.Text.Json.Nodes;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Images;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>Curriculum pictures with their items, drawn straight to tensors (no PNG round trip).</summary>
public sealed record CurriculumImages(IReadOnlyList<CurriculumItem> Items, Tensor Pixels) : IDisposable
{
    public static readonly string[] Families = ["shapes", "digits", "charts", "scenes"];

    /// <summary>
    /// <paramref name="count"/> items taken round-robin from <paramref name="families"/> (item k of
    /// each family, so any prefix is balanced); duplicates of a scene are dropped when
    /// <paramref name="distinct"/> is set (held-out sets count each picture once).
    /// </summary>
    public static CurriculumImages Build(IReadOnlyList<string> families, Split split, long seed, int count, ImageOptions options,
        Func<CurriculumItem, bool>? keep = null, bool distinct = false, int maxTries = 50)
    {
        var sources = families.Select(ImageFamily).ToArray();
        var items = new List<CurriculumItem>();
        var seen = new HashSet<string>();
        long index = 0;
        int misses = 0;
        while (items.Count < count && misses < maxTries * Math.Max(count, 1))
        {
            foreach (var family in sources)
            {
                if (items.Count >= count) break;
                var item = family.Make(seed, split, index);
                if ((keep is null || keep(item)) && (!distinct || seen.Add(item.Family + "|" + item.Canonical))) items.Add(item);
                else misses++;
            }
            index++;
        }
        return new CurriculumImages(items, Render(items, options));
    }

    /// <summary>Stacks the items' pictures into [N, 3, S, S].</summary>
    public static Tensor Render(IReadOnlyList<CurriculumItem> items, ImageOptions options)
    {
        var pixels = new Tensor[items.Count];
        Parallel.For(0, items.Count, i =>
        {
            using var bitmap = ((ImageFamily)CurriculumRegistry.Get(items[i].Family)).Render(items[i]);
            pixels[i] = ImageInput.FromBitmap(bitmap, options);
        });
        if (pixels.Length == 0) return zeros(0, 3, options.Size, options.Size);
        var stacked = stack(pixels);
        foreach (var p in pixels) p.Dispose();
        return stacked;
    }

    public static ImageFamily ImageFamily(string name) =>
        CurriculumRegistry.Get(name) as ImageFamily ?? throw new UserError($"Curriculum family '{name}' has no pictures; choose from {string.Join(", ", Families)}.");

    public static string Caption(CurriculumItem item) => (string?)item.Extra?["caption"] ?? item.Prompt;

    /// <summary>The question/answer/rationale triples stored with a picture item.</summary>
    public static IEnumerable<(string Question, string Answer, string Rationale)> QuestionAnswers(CurriculumItem item) =>
        (item.Extra?["qa"] as JsonArray ?? []).Select(n => ((string)n!["question"]!, (string)n["answer"]!, (string)n["rationale"]!));

    public void Dispose() => Pixels.Dispose();
}

/// <summary>Images with class labels for zero-shot classification.</summary>
public sealed record LabeledImages(string Name, IReadOnlyList<string> Classes, IReadOnlyList<string> Templates, Tensor Pixels, int[] Labels) : IDisposable
{
    public static readonly string[] DefaultTemplates = ["{}", "a {}.", "a picture of a {}."];

    /// <summary>Curriculum tasks on held-out (eval split) pictures, each picture once.</summary>
    public static readonly string[] CurriculumTasks = ["shapes", "digits", "scenes"];

    /// <summary>
    /// A zero-shot task from the curriculum's held-out pictures: "shapes" (one-shape pictures,
    /// 18 classes "COLOUR SHAPE"), "digits" (one-digit numbers, 10 classes), "scenes" (the
    /// setting, 4 classes). <paramref name="split"/> = <see cref="Split.Train"/> draws training
    /// pictures instead: a check that a model has learned the classes at all, never a result.
    /// </summary>
    public static LabeledImages FromCurriculum(string task, long seed, int count, ImageOptions options, Split split = Split.Eval)
    {
        (string Family, Func<CurriculumItem, string?> Label, string[] Classes, string[] Templates) spec = task switch
        {
            "shapes" => ("shapes", i => i.Difficulty == 1 ? $"{Shape(i)["colour"]} {Shape(i)["shape"]}" : null,
                [.. Palette.Names.SelectMany(c => ShapesFamily.Shapes.Select(s => $"{c} {s}"))], OneShapeTemplates),
            "digits" => ("digits", i => i.Difficulty == 1 ? (string?)i.Extra!["scene"]!["number"]!.ToString() : null,
                [.. Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))],
                ["the number {}.", "{}"]),
            "scenes" => ("scenes", i => (string?)i.Extra!["scene"]!["setting"], ["meadow", "sea", "snowfield", "street"],
                ["a {}.", "the {}.", "a picture of a {}."]),
            _ => throw new UserError($"Unknown zero-shot task '{task}'; choose from {string.Join(", ", CurriculumTasks)} or give a folder of class folders."),
        };
        using var set = CurriculumImages.Build([spec.Family], split, seed, count, options, i => spec.Label(i) is not null, distinct: true);
        var labels = set.Items.Select(i => Array.IndexOf(spec.Classes, spec.Label(i)!)).ToArray();
        return new LabeledImages(split == Split.Eval ? $"{task} (held-out)" : $"{task} (training split)", spec.Classes, spec.Templates, set.Pixels.clone(), labels);
    }

    /// <summary>
    /// Prompt ensembling over the nuisance attribute, as CLIP ensembles "a photo of a {}" over
    /// photo styles: a one-shape caption always says where the shape is ("One shape: a red
    /// circle at the top left."), so the class prompt is put at each of the nine positions and
    /// the nine text embeddings are averaged. Bare prompts ("a red circle.") are unlike any
    /// training caption; with them a CLIP that tells the shapes apart still named every
    /// training-split picture a triangle (33.6 % top-1 against 93.6 % with these templates).
    /// </summary>
    public static readonly string[] OneShapeTemplates =
        [.. ShapesFamily.Positions.Select((p, cell) => $"One shape: a {{}} {(cell == 4 ? "in the" : "at the")} {p}.")];

    static JsonNode Shape(CurriculumItem item) => item.Extra!["scene"]!["shapes"]![0]!;

    static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".webp"];

    /// <summary>
    /// A folder-per-class directory: each subfolder is a class (its name, with _ and - as
    /// spaces, is the class name) holding PNG/JPEG/WebP files.
    /// </summary>
    public static LabeledImages FromFolders(string directory, ImageOptions options, IReadOnlyList<string>? templates = null)
    {
        if (!Directory.Exists(directory)) throw new UserError($"Image directory {directory} does not exist; give a folder with one subfolder of images per class.");
        var classDirs = Directory.GetDirectories(directory).Order(StringComparer.Ordinal).ToArray();
        if (classDirs.Length < 2) throw new UserError($"{directory} has {classDirs.Length} class folder(s); zero-shot classification needs at least two subfolders, one per class.");
        var classes = classDirs.Select(d => Path.GetFileName(d).Replace('_', ' ').Replace('-', ' ')).ToArray();
        var pixels = new List<Tensor>();
        var labels = new List<int>();
        for (int c = 0; c < classDirs.Length; c++)
            foreach (var file in Directory.GetFiles(classDirs[c]).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal))
            {
                pixels.Add(ImageInput.Load(file, options));
                labels.Add(c);
            }
        if (pixels.Count == 0) throw new UserError($"No PNG, JPEG or WebP files in the class folders of {directory}; put the images of each class in its own subfolder.");
        var stacked = stack(pixels);
        foreach (var p in pixels) p.Dispose();
        return new LabeledImages(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))), classes, templates ?? DefaultTemplates, stacked, [.. labels]);
    }

    /// <summary>The same set with its pixels on <paramref name="device"/>.</summary>
    public LabeledImages To(Device device) => this with { Pixels = Pixels.to(device) };

    public void Dispose() => Pixels.Dispose();
}
