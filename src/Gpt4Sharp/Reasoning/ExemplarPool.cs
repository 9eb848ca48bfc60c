using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Reasoning;

/// <summary>
/// Few-shot exemplars for one family, drawn only from the training split so an evaluation
/// prompt never shows an evaluation problem (or its answer). Draws are seeded per question.
/// </summary>
public sealed class ExemplarPool
{
    readonly IReadOnlyList<Exemplar> exemplars;

    /// <summary>Wraps items that must all be training-split items; an eval item is refused.</summary>
    public ExemplarPool(IEnumerable<CurriculumItem> trainItems)
    {
        var list = new List<Exemplar>();
        foreach (var item in trainItems)
        {
            if (item.Split != Split.Train)
                throw new UserError($"Exemplar {item.Id} comes from the {item.Split} split; few-shot exemplars must come from the training split.");
            list.Add(new Exemplar(item.Prompt, item.Rationale ?? "", item.Answer));
        }
        exemplars = list;
    }

    public int Count => exemplars.Count;

    /// <summary>
    /// <paramref name="poolSize"/> training items of <paramref name="family"/>, at most
    /// <paramref name="maxDifficulty"/> (short exemplars leave room in a small context).
    /// </summary>
    public static ExemplarPool FromTraining(string family, long seed, int poolSize = 64, int maxDifficulty = int.MaxValue)
    {
        var source = CurriculumRegistry.Get(family);
        var items = new List<CurriculumItem>();
        for (long i = 0; items.Count < poolSize && i < poolSize * 64L; i++)
        {
            var item = source.Make(seed, Split.Train, i);
            if (item.Difficulty <= maxDifficulty) items.Add(item);
        }
        if (items.Count == 0) throw new UserError($"Family '{family}' has no training items of difficulty at most {maxDifficulty}; raise the exemplar difficulty cap.");
        return new ExemplarPool(items);
    }

    /// <summary>k distinct exemplars for the question keyed by <paramref name="questionId"/> (same id, same exemplars).</summary>
    public IReadOnlyList<Exemplar> Draw(int k, string questionId, long seed)
    {
        if (k <= 0) return [];
        var rng = new Random(unchecked((int)(seed * 1_000_003) ^ StableHash(questionId)));
        return exemplars.OrderBy(_ => rng.Next()).Take(Math.Min(k, exemplars.Count)).ToList();
    }

    /// <summary>FNV-1a: string.GetHashCode differs between processes, and draws must repeat across runs.</summary>
    static int StableHash(string text)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (var c in text) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
