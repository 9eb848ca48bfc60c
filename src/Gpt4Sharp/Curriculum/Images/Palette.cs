using SkiaSharp;

namespace Gpt4Sharp.Curriculum.Images;

/// <summary>Named colours used in captions and answers; far apart so each reads unambiguously.</summary>
public static class Palette
{
    public static readonly IReadOnlyDictionary<string, SKColor> Named = new Dictionary<string, SKColor>
    {
        ["red"] = new(220, 40, 40), ["green"] = new(40, 170, 60), ["blue"] = new(40, 80, 220),
        ["yellow"] = new(235, 200, 30), ["purple"] = new(140, 60, 180), ["orange"] = new(245, 130, 30),
    };

    public static readonly string[] Names = [.. Named.Keys];

    public static SKColor Of(string name) => Named[name];
}
