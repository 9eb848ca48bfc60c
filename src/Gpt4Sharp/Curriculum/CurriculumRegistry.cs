using System.Globalization;
using Gpt4Sharp.Curriculum.Arithmetic;
using Gpt4Sharp.Curriculum.Bilingual;
using Gpt4Sharp.Curriculum.Bridge;
using Gpt4Sharp.Curriculum.Code;
using Gpt4Sharp.Curriculum.Dialogue;
using Gpt4Sharp.Curriculum.Images;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Curriculum;

/// <summary>Every built-in family by name, and the way back from an item id to its item.</summary>
public static class CurriculumRegistry
{
    public static IReadOnlyList<ICurriculumFamily> All { get; } =
    [
        new ArithmeticFamily(), new DigitChainFamily(), new DigitChainFamily(throughTen: true), new DigitSumFamily(), new RotatedChainFamily(), new BridgeFamily(), new CodeFamily(), new SafetyFamily(), new HazardsFamily(), new KnowledgeFamily(),
        new BilingualFamily(), new DialogueFamily(), new ShapesFamily(), new DigitsFamily(), new ChartFamily(), new ScenesFamily(),
    ];

    public static IEnumerable<string> Names => All.Select(f => f.Name);

    public static ICurriculumFamily Get(string name) =>
        All.FirstOrDefault(f => string.Equals(f.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new UserError($"Unknown curriculum family '{name}'; choose from {string.Join(", ", Names)}.");

    /// <summary>A comma-separated list of family names, or "all".</summary>
    public static IReadOnlyList<ICurriculumFamily> Parse(string list) =>
        list.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)
            ? All
            : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Get).Distinct().ToList();

    /// <summary>Rebuilds an item from its id ("family:split:seed:index"), since generation is deterministic.</summary>
    public static CurriculumItem Regenerate(string id)
    {
        var parts = id.Split(':');
        if (parts.Length != 4
            || !Enum.TryParse<Split>(parts[1], ignoreCase: true, out var split)
            || !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            || !long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var index))
            throw new UserError($"Item id '{id}' is not of the form family:split:seed:index; use the ids written by `curriculum make`.");
        return Get(parts[0]).Make(seed, split, index);
    }
}
