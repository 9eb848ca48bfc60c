namespace Gpt4Sharp.Curriculum;

/// <summary>
/// A seeded generator of one kind of problem plus its exact checker. Generation is
/// deterministic in (seed, split, index) and each split yields only its own items.
/// </summary>
public interface ICurriculumFamily
{
    string Name { get; }
    string Description { get; }
    IEnumerable<CurriculumItem> Generate(long seed, Split split, int count);
    /// <summary>The item at one index of the stream, independent of every other index (parallel-safe).</summary>
    CurriculumItem Make(long seed, Split split, long index);
    CheckResult Check(CurriculumItem item, string modelAnswer);
}

/// <summary>A family whose items carry a picture; the PNG is drawn from the item's extras.</summary>
public interface IImageFamily : ICurriculumFamily
{
    byte[] RenderPng(CurriculumItem item);
}
