using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Reasoning;

/// <summary>
/// A question with no answer attached: the only thing the self-improvement loop may see.
/// The type has no field for an answer, rationale or reply, so code that receives it cannot
/// read a label even by accident.
/// </summary>
public sealed record UnlabelledQuestion(string Id, string Family, string Text)
{
    /// <summary>Keeps the id, family and prompt of a curriculum item and drops Answer, Rationale and Response.</summary>
    public static UnlabelledQuestion From(CurriculumItem item) => new(item.Id, item.Family, item.Prompt);

    public static IReadOnlyList<UnlabelledQuestion> From(IEnumerable<CurriculumItem> items) => items.Select(From).ToList();
}
