using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gpt4Sharp.Curriculum.Knowledge;

/// <summary>
/// Closed-book facts about a fictional world, questions about them, questions about
/// entities that do not exist (the right reply says it does not know), and reference
/// passages with a question that the passage answers or does not (for hallucination work).
/// Profiles ("Describe X") are the world's knowledge and always belong to train; questions
/// are split by the hash of (entity, attribute).
/// </summary>
public sealed partial class KnowledgeFamily : CurriculumFamily
{
    public const string DontKnow = "I don't know.";
    public const string NotInPassage = "The passage does not say.";
    /// <summary>The kinds of item that ask a question (every kind but "profile"), in the order the family proposes them.</summary>
    public static readonly IReadOnlyList<string> QuestionKinds = ["question", "unknown_entity", "passage", "passage_unanswerable"];

    public override string Name => "knowledge";
    public override string Description => "Fictional-world facts: profiles, questions, questions about non-existent entities (say \"I don't know\"), and reference passages.";
    public override double EvalFraction => 0.2;

    static FictionalWorld World => FictionalWorld.Instance;

    protected override Split SplitOf(CurriculumItem item) =>
        item.Kind == "profile" ? Split.Train : base.SplitOf(item);

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var roll = rng.Next(10);
        var type = rng.Chance(0.4) ? "town" : "person";
        var entity = rng.Pick(type == "town" ? World.Towns : World.People);
        var attribute = rng.Pick(FictionalWorld.AttributesOf(type));
        return roll switch
        {
            < 3 => Profile(entity),
            < 7 => Question(entity, attribute),
            < 8 => Unknown(rng, type, attribute),
            _ => Passage(rng, entity, attribute),
        };
    }

    static CurriculumItem Profile(Entity e) => new()
    {
        Id = "", Family = "", Kind = "profile", Prompt = $"Describe {e.Name}.",
        Answer = FictionalWorld.Profile(e), Response = FictionalWorld.Profile(e),
        Canonical = $"profile|{e.Name}",
        Extra = new JsonObject { ["entity"] = e.Name, ["exists"] = true },
    };

    static CurriculumItem Question(Entity e, FactSlot a) => new()
    {
        Id = "", Family = "", Kind = "question", Prompt = string.Format(CultureInfo.InvariantCulture, a.Question, e.Name),
        Answer = e.Facts[a.Name], Response = FictionalWorld.Statement(e, a),
        Canonical = $"question|{e.Name}|{a.Name}",
        Extra = new JsonObject { ["entity"] = e.Name, ["attribute"] = a.Name, ["domain"] = a.Domain, ["exists"] = true },
    };

    static CurriculumItem Unknown(ItemRng rng, string type, FactSlot a)
    {
        var name = World.UnknownName(rng, type);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "unknown_entity", Difficulty = 2,
            Prompt = string.Format(CultureInfo.InvariantCulture, a.Question, name),
            Answer = DontKnow, Response = $"I don't know of any {(type == "town" ? "town" : "person")} called {name}.",
            Canonical = $"unknown|{name}|{a.Name}",
            Extra = new JsonObject { ["entity"] = name, ["attribute"] = a.Name, ["domain"] = a.Domain, ["exists"] = false },
        };
    }

    static CurriculumItem Passage(ItemRng rng, Entity e, FactSlot asked)
    {
        // The passage states some of the entity's facts plus a distractor entity's profile;
        // when the asked fact is left out, the right reply is that the passage does not say.
        var answerable = rng.Chance(0.7);
        var stated = FictionalWorld.AttributesOf(e.Type).Where(a => a.Name == asked.Name ? answerable : rng.Chance(0.6)).ToList();
        var distractor = rng.Pick(e.Type == "town" ? World.Towns : World.People);
        var sentences = stated.Select(a => FictionalWorld.Statement(e, a)).ToList();
        if (distractor != e) sentences.Add(FictionalWorld.Profile(distractor));
        rng.Shuffle(sentences);
        var passage = string.Join(" ", sentences);
        var question = string.Format(CultureInfo.InvariantCulture, asked.Question, e.Name);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = answerable ? "passage" : "passage_unanswerable", Difficulty = 2,
            Prompt = $"Passage: {passage}\nAnswer from the passage only. {question}",
            Answer = answerable ? e.Facts[asked.Name] : NotInPassage,
            Response = answerable ? FictionalWorld.Statement(e, asked) : NotInPassage,
            Canonical = $"passage|{e.Name}|{asked.Name}|{string.Join(",", stated.Select(a => a.Name))}|{distractor.Name}",
            Extra = new JsonObject
            {
                ["entity"] = e.Name, ["attribute"] = asked.Name, ["domain"] = asked.Domain,
                ["passage"] = passage, ["answerable"] = answerable, ["exists"] = true,
            },
        };
    }

    [GeneratedRegex(@"\b(i don(?:'|’)?t know|i do not know|not sure|no information|not aware of|i don(?:'|’)?t have|does not say|doesn(?:'|’)?t say|not mentioned|does not mention|doesn(?:'|’)?t mention|no record|does not exist|doesn(?:'|’)?t exist)\b|不知道", RegexOptions.IgnoreCase)]
    private static partial Regex DontKnowMarker();

    // Lookarounds, not \b: CJK characters count as word characters, and replies may be Chinese.
    [GeneratedRegex(@"(?<!\d)\d{3,4}(?!\d)")]
    private static partial Regex Year();

    public static bool SaysDontKnow(string reply) => DontKnowMarker().IsMatch(reply);

    /// <summary>
    /// A fact reply must name the right value and no other value of the same kind (no other
    /// country, year, ...) and must not also claim ignorance; an unknown-entity or
    /// unanswerable reply must say it does not know and must not name any value.
    /// </summary>
    public override CheckResult Check(CurriculumItem item, string modelAnswer)
    {
        if (string.IsNullOrWhiteSpace(modelAnswer)) return CheckResult.Wrong("empty reply");
        if (item.Kind == "profile")
        {
            var expected = AnswerText.Normalize(item.Answer);
            return AnswerText.Normalize(modelAnswer) == expected ? CheckResult.Right() : CheckResult.Wrong("profile differs from the world's facts");
        }
        return CheckFact(item, modelAnswer);
    }

    /// <summary>The fact/unknown/unanswerable rules, shared with the Chinese questions of the bilingual family.</summary>
    public static CheckResult CheckFact(CurriculumItem item, string modelAnswer)
    {
        if (string.IsNullOrWhiteSpace(modelAnswer)) return CheckResult.Wrong("empty reply");
        var named = NamedValues(item, modelAnswer);
        if (item.Answer is DontKnow or NotInPassage)
        {
            if (named.Count > 0) return CheckResult.Wrong($"made up an answer ({string.Join(", ", named)})");
            return SaysDontKnow(modelAnswer) ? CheckResult.Right("declined to guess") : CheckResult.Wrong("did not say it does not know");
        }
        if (SaysDontKnow(modelAnswer)) return CheckResult.Wrong("said it does not know a known fact");
        if (!named.Contains(item.Answer, StringComparer.OrdinalIgnoreCase)) return CheckResult.Wrong($"expected {item.Answer}");
        return named.Count == 1 ? CheckResult.Right() : CheckResult.Wrong($"names several candidates ({string.Join(", ", named)})");
    }

    /// <summary>The values of the question's kind (towns, years, ...) that a reply names, the entity's own name left out.</summary>
    public static IReadOnlyList<string> NamedValues(CurriculumItem item, string reply) =>
        Named((string)item.Extra!["domain"]!, reply, (string)item.Extra["entity"]!);

    // Only the final answer line counts when there is one, so a rationale may mention other values.
    static List<string> Named(string domain, string reply, string entity)
    {
        var lines = AnswerText.AnswerLines(reply);
        // The entity's own name may contain a town-like syllable group; it is not a candidate answer.
        var text = (lines.Count > 0 ? string.Join("\n", lines) : reply).Replace(entity, " ", StringComparison.OrdinalIgnoreCase);
        if (domain == "year") return Year().Matches(text).Select(m => m.Value).Distinct().ToList();
        return World.DomainValues(domain)
            .Where(v => Regex.IsMatch(text, $@"(?<![A-Za-z]){Regex.Escape(v)}(?![A-Za-z])", RegexOptions.IgnoreCase))
            .ToList();
    }
}
