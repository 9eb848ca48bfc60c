using System.Text.Json.Nodes;
using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>
/// Shared shape of the picture families: an item's extra holds the scene (everything needed
/// to draw it), a caption, and question/answer pairs; the item's own Prompt/Answer is one of
/// those pairs. Drawing is a pure function of the scene, so a PNG can be rebuilt from JSONL.
/// </summary>
public abstract class ImageFamily : CurriculumFamily, IImageFamily
{
    /// <summary>Square image side in pixels.</summary>
    public abstract int Size { get; }

    protected abstract void Draw(SKCanvas canvas, JsonObject scene);

    public byte[] RenderPng(CurriculumItem item)
    {
        using var bitmap = Render(item);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The image as pixels (tests read them back).</summary>
    public SKBitmap Render(CurriculumItem item)
    {
        var bitmap = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        Draw(canvas, (JsonObject)item.Extra!["scene"]!);
        canvas.Flush();
        return bitmap;
    }

    /// <summary>Builds the item: the primary question is picked from the pairs; all pairs and the caption go to extra.</summary>
    protected CurriculumItem Item(ItemRng rng, string kind, int difficulty, JsonObject scene, string caption,
        IReadOnlyList<(string Q, string A, string Why)> qa)
    {
        var (q, a, why) = qa[rng.Next(qa.Count)];
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = kind, Difficulty = difficulty,
            Prompt = q, Answer = a, Rationale = why, Response = $"{why}\nanswer: {a}",
            Canonical = scene.ToJsonString(),
            Extra = new JsonObject
            {
                ["caption"] = caption,
                ["qa"] = new JsonArray(qa.Select(p => (JsonNode)new JsonObject { ["question"] = p.Q, ["answer"] = p.A, ["rationale"] = p.Why }).ToArray()),
                ["width"] = Size, ["height"] = Size,
                ["scene"] = scene,
            },
        };
    }

    /// <summary>
    /// The reply (or its "answer:" line) must equal the answer after lower-casing, trimming
    /// punctuation and dropping a leading "a", "an" or "the"; numeric answers go through the
    /// integer rules (one number, no extra text).
    /// </summary>
    public override CheckResult Check(CurriculumItem item, string modelAnswer)
    {
        if (string.IsNullOrWhiteSpace(modelAnswer)) return CheckResult.Wrong("empty reply");
        var lines = AnswerText.AnswerLines(modelAnswer);
        if (long.TryParse(item.Answer, out var number))
            return AnswerText.CheckInteger(lines.Count > 0 ? modelAnswer : "answer: " + modelAnswer.Trim(), number);
        var (value, problem) = lines.Count > 0 ? AnswerText.Final(modelAnswer) : (modelAnswer, null);
        if (value is null) return CheckResult.Wrong(problem!);
        return Strip(value) == Strip(item.Answer) ? CheckResult.Right() : CheckResult.Wrong($"expected {item.Answer}");
    }

    static string Strip(string text)
    {
        var t = AnswerText.Normalize(text);
        foreach (var article in new[] { "a ", "an ", "the " })
            if (t.StartsWith(article, StringComparison.Ordinal)) return t[article.Length..];
        return t;
    }

    protected static SKPaint Fill(SKColor color, bool antialias = true) => new() { Color = color, IsAntialias = antialias, Style = SKPaintStyle.Fill };

    protected static SKPaint Stroke(SKColor color, float width) => new() { Color = color, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = width, StrokeCap = SKStrokeCap.Round };
}
