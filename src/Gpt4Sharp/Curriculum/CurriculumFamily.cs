using System.Globalization;

namespace Gpt4Sharp.Curriculum;

/// <summary>
/// Shared generate-by-rejection loop: a family proposes a random problem, the split rule
/// decides where its canonical form belongs, and proposals for the other split are thrown
/// away, so eval items are disjoint from train items by construction.
/// </summary>
public abstract class CurriculumFamily : ICurriculumFamily
{
    const int MaxAttempts = 100_000;

    public abstract string Name { get; }
    public abstract string Description { get; }

    /// <summary>Share of the canonical problem space reserved for evaluation.</summary>
    public virtual double EvalFraction => 0.1;

    /// <summary>Draws one problem. Id and Split are filled in by <see cref="Make"/>.</summary>
    protected abstract CurriculumItem Propose(ItemRng rng);

    public abstract CheckResult Check(CurriculumItem item, string modelAnswer);

    /// <summary>Where a proposed item belongs; by default the hash of its canonical problem decides.</summary>
    protected virtual Split SplitOf(CurriculumItem item) => SplitRule.SplitOf(Name, item.Canonical, EvalFraction);

    public IEnumerable<CurriculumItem> Generate(long seed, Split split, int count)
    {
        for (var i = 0; i < count; i++) yield return Make(seed, split, i);
    }

    public CurriculumItem Make(long seed, Split split, long index)
    {
        var salt = StableSalt(Name);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var item = Propose(ItemRng.For(seed, index, attempt, salt));
            if (SplitOf(item) != split) continue;
            return item with { Id = MakeId(Name, split, seed, index), Split = split, Family = Name };
        }
        throw new InvalidOperationException($"{Name} found no {split} item in {MaxAttempts} attempts; its problem space is too small.");
    }

    public static string MakeId(string family, Split split, long seed, long index) =>
        string.Create(CultureInfo.InvariantCulture, $"{family}:{split.ToString().ToLowerInvariant()}:{seed}:{index}");

    // Different families draw different streams from the same seed.
    static ulong StableSalt(string name)
    {
        ulong h = 1469598103934665603UL; // FNV-1a: stable, unlike string.GetHashCode
        foreach (var c in name) h = (h ^ c) * 1099511628211UL;
        return h;
    }
}
