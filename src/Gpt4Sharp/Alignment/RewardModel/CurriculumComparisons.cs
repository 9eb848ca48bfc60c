using System.Globalization;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>
/// Comparison pairs built from the curriculum, each pitting the desired reply against the
/// failure GPT-4's alignment targets: a refusal over compliance with a harmful request, a
/// helpful answer over an unnecessary refusal of a benign look-alike, "I don't know" over a
/// made-up fact about an entity that does not exist (or a fact the passage does not give),
/// and the grounded fact over a wrong value. Pairs keep their item's train/eval split, so
/// held-out pairs ask questions the reward model never trained on.
/// With <see cref="FactPairs.WithReference"/>, a closed-book fact question is shown to the reward
/// model with the entity's reference sheet (its profile, in the passage format), as a grader with
/// the reference would see it: which reply is right is then decidable from the pair itself rather
/// than from facts the backbone may not have memorised.
/// </summary>
public static class CurriculumComparisons
{
    // Compliant openings for harmful requests: what the reward model must learn to score low.
    static readonly string[] Compliance =
    [
        "Sure! Here is how to do it. First, get everything you need, then follow these steps one by one.",
        "Of course. Step 1: gather the materials. Step 2: put them together exactly as described below.",
        "Here you go. Start by preparing the parts, then do the rest quietly so nobody notices.",
        "Absolutely, this is easy. Just follow my instructions and you will have it done in an hour.",
        "No problem! The trick is to do it at night. First, you take the following steps.",
    ];

    // Refusals of benign requests (over-refusal): the reward model must learn to score these low.
    static readonly string[] NeedlessRefusals =
    [
        "I can't help with that.",
        "I'm sorry, but I can't help with that request.",
        "I cannot assist with this because it could be dangerous.",
        "I won't answer that. It's important to remember that some things are harmful.",
    ];

    // Replies that are right for some prompt but not for this one: a decline of a question that has
    // an answer, a refusal of a safe request, an answer to another question. Without them, a reply
    // that is only ever the chosen side ("The passage does not say.") looks good anywhere, and PPO
    // learns to give it to every prompt.
    static readonly string[] OffTopic =
    [
        KnowledgeFamily.NotInPassage,
        "I don't know.",
        "I can't help with that.",
        "Find its process id with `ps aux | grep python`, then run `kill PID`.",
        "Kalomi is a town in Veluria.",
    ];

    /// <summary>
    /// Up to <paramref name="count"/> pairs from each split's safety and knowledge items (half
    /// from each family); the held-out share follows the families' own eval fraction.
    /// </summary>
    /// <param name="offTopicShare">Share of pairs whose rejected reply is replaced by an off-topic one (source "off_topic").</param>
    public static IReadOnlyList<ComparisonPair> Build(long seed, int count, double evalShare = 0.15, FactPairs facts = FactPairs.ClosedBook, double offTopicShare = 0)
    {
        if (count < 2) throw new UserError($"At least 2 curriculum comparisons are needed (got {count}).");
        if (offTopicShare is < 0 or > 1) throw new UserError($"The off-topic share must be between 0 and 1 (got {offTopicShare}).");
        int eval = Math.Max(1, (int)(count * evalShare));
        var pairs = new List<ComparisonPair>();
        foreach (var split in (Split[])[Split.Train, Split.Eval])
        {
            var rng = new ItemRng(ItemRng.Mix((ulong)seed ^ (split == Split.Eval ? 0x0FF7E1UL : 0x0FF7A1UL)));
            pairs.AddRange(Make(seed, split, split == Split.Eval ? eval : count - eval, facts)
                .Select(p => rng.Chance(offTopicShare) ? WithOffTopic(p, rng) : p));
        }
        return pairs;
    }

    static ComparisonPair WithOffTopic(ComparisonPair pair, ItemRng rng)
    {
        // A decline is the right reply to an unanswerable question and a refusal to a harmful one, so neither is off-topic there.
        bool declineIsRight = KnowledgeFamily.SaysDontKnow(pair.Chosen), refusalIsRight = SafetyFamily.IsRefusal(pair.Chosen);
        var candidates = OffTopic.Where(r => r != pair.Chosen && !(declineIsRight && KnowledgeFamily.SaysDontKnow(r)) && !(refusalIsRight && SafetyFamily.IsRefusal(r))).ToList();
        return pair with { Rejected = rng.Pick(candidates), Source = "off_topic" };
    }

    static IEnumerable<ComparisonPair> Make(long seed, Split split, int count, FactPairs facts)
    {
        var safety = CurriculumRegistry.Get("safety");
        var knowledge = CurriculumRegistry.Get("knowledge");
        var rng = new ItemRng(ItemRng.Mix((ulong)seed ^ (split == Split.Eval ? 0xE7A1UL : 0x7A11UL)));
        var safetyPairs = safety.Generate(seed, split, count / 2).Select(item => FromSafety(item, rng, split));
        // Profiles have no failure to compare against; draw extra so the other kinds fill the half.
        var knowledgePairs = knowledge.Generate(seed, split, count * 2).Select(item => FromKnowledge(item, rng, split, facts)).OfType<ComparisonPair>();
        return safetyPairs.Concat(knowledgePairs.Take(count - count / 2));
    }

    static ComparisonPair FromSafety(CurriculumItem item, ItemRng rng, Split split) => item.Kind == "harmful"
        ? new ComparisonPair(item.Prompt, item.Response, rng.Pick(Compliance), "safety/harmful", split)
        : new ComparisonPair(item.Prompt, item.Response, rng.Pick(NeedlessRefusals), "safety/benign", split);

    static ComparisonPair? FromKnowledge(CurriculumItem item, ItemRng rng, Split split, FactPairs facts)
    {
        if (item.Kind == "profile") return null;
        var entity = (string)item.Extra!["entity"]!;
        var attribute = (string)item.Extra["attribute"]!;
        var domain = (string)item.Extra["domain"]!;
        var slot = FictionalWorld.TownAttributes.Concat(FictionalWorld.PersonAttributes).First(s => s.Name == attribute);
        var wrong = string.Format(CultureInfo.InvariantCulture, slot.Statement, entity, WrongValue(domain, item.Answer, rng));
        var source = item.Kind switch
        {
            "unknown_entity" => "knowledge/unknown_entity",
            "passage_unanswerable" => "knowledge/passage_unanswerable",
            "passage" => "knowledge/passage",
            _ => "knowledge/question",
        };
        if (item.Kind == "question" && facts == FactPairs.WithReference)
        {
            var reference = FictionalWorld.Profile(FictionalWorld.Instance.Towns.Concat(FictionalWorld.Instance.People).First(e => e.Name == entity));
            return new ComparisonPair($"Passage: {reference}\nAnswer from the passage only. {item.Prompt}", item.Response, wrong, "knowledge/question+reference", split);
        }
        return new ComparisonPair(item.Prompt, item.Response, wrong, source, split);
    }

    /// <summary>A plausible value of the same kind that is not the right one (any value when the right reply is "I don't know").</summary>
    static string WrongValue(string domain, string answer, ItemRng rng)
    {
        var values = FictionalWorld.Instance.DomainValues(domain).Where(v => v != answer).ToList();
        if (values.Count > 0) return rng.Pick(values);
        string year;
        do year = rng.Range(1200, 1950).ToString(CultureInfo.InvariantCulture); while (year == answer);
        return year;
    }
}

/// <summary>How <see cref="CurriculumComparisons"/> asks fact questions about entities that exist.</summary>
public enum FactPairs
{
    /// <summary>The bare question: ranking the replies needs the fact memorised in the backbone.</summary>
    ClosedBook,
    /// <summary>The question after the entity's reference sheet: ranking the replies needs only reading it.</summary>
    WithReference,
}
