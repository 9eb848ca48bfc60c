using System.Globalization;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;

namespace Gpt4Sharp.Alignment.Hallucination;

/// <summary>A character span of an answer.</summary>
public readonly record struct TextSpan(int Start, int Length)
{
    public int End => Start + Length;
    public bool Overlaps(int start, int end) => start < End && Start < end;
}

/// <summary>A reference passage, an answer to check against it, and the answer's hallucinated spans (empty when grounded).</summary>
public sealed record DetectorExample(string Reference, string Answer, IReadOnlyList<TextSpan> Hallucinated);

/// <summary>
/// Training data for the token-level detector in the style of Zhou et al. (2020), "Detecting
/// Hallucinated Content in Conditional Neural Sequence Generation": take an answer grounded
/// in a reference passage of the knowledge curriculum and replace some of its fact values by
/// plausible wrong ones of the same kind from the fictional world (another country, river,
/// town, profession, product, or a nearby year); the replaced words are the positive labels.
/// Examples inherit the curriculum's split, so held-out passages are never trained on.
/// </summary>
public static class SyntheticHallucinations
{
    /// <summary>Probability that an example carries at least one replaced value.</summary>
    public const double CorruptionRate = 0.6;

    public static IReadOnlyList<DetectorExample> Build(long seed, Split split, int count)
    {
        var family = new KnowledgeFamily();
        var result = new List<DetectorExample>(count);
        for (long index = 0; result.Count < count; index++)
        {
            var item = family.Make(seed, split, index);
            if (item.Kind != "passage") continue;
            var rng = ItemRng.For(seed, index, salt: 0x48414C4CUL); // "HALL"
            result.Add(FromPassage(item, rng));
        }
        return result;
    }

    /// <summary>The passage's sentences about the asked entity (1 to 3, the asked fact first), some values replaced.</summary>
    static DetectorExample FromPassage(CurriculumItem item, ItemRng rng)
    {
        var world = FictionalWorld.Instance;
        var passage = (string)item.Extra!["passage"]!;
        var entity = world.Towns.Concat(world.People).First(e => e.Name == (string)item.Extra["entity"]!);
        var stated = FictionalWorld.AttributesOf(entity.Type).Where(a => passage.Contains(FictionalWorld.Statement(entity, a), StringComparison.Ordinal)).ToList();
        var asked = stated.First(a => a.Name == (string)item.Extra["attribute"]!);
        var others = stated.Where(a => a != asked).ToList();
        rng.Shuffle(others);
        var chosen = new List<FactSlot> { asked };
        chosen.AddRange(others.Take(rng.Next(Math.Min(others.Count, 2) + 1)));

        bool corrupt = rng.Chance(CorruptionRate);
        var corrupted = corrupt ? rng.Distinct(chosen.Count, 1 + rng.Next(chosen.Count)).ToHashSet() : [];
        var text = new System.Text.StringBuilder();
        var spans = new List<TextSpan>();
        for (int i = 0; i < chosen.Count; i++)
        {
            var slot = chosen[i];
            var value = entity.Facts[slot.Name];
            if (corrupted.Contains(i)) value = WrongValue(rng, slot.Domain, value);
            if (text.Length > 0) text.Append(' ');
            // Statement templates hold the entity at {0} and the value at {1}, in either order.
            var sentence = string.Format(CultureInfo.InvariantCulture, slot.Statement, entity.Name, value);
            int valueAt = slot.Statement.IndexOf("{1}", StringComparison.Ordinal), nameAt = slot.Statement.IndexOf("{0}", StringComparison.Ordinal);
            int at = valueAt + (nameAt < valueAt ? entity.Name.Length - 3 : 0);
            if (corrupted.Contains(i)) spans.Add(new TextSpan(text.Length + at, value.Length));
            text.Append(sentence);
        }
        return new DetectorExample(passage, text.ToString(), spans);
    }

    /// <summary>A value of the same kind that differs from <paramref name="truth"/>.</summary>
    public static string WrongValue(ItemRng rng, string domain, string truth)
    {
        if (domain == "year")
        {
            int year = int.Parse(truth, CultureInfo.InvariantCulture);
            int offset = rng.Range(1, 60) * (rng.Chance(0.5) ? -1 : 1);
            return (year + offset).ToString(CultureInfo.InvariantCulture);
        }
        var values = FictionalWorld.Instance.DomainValues(domain).Where(v => v != truth).ToList();
        return rng.Pick(values);
    }
}
