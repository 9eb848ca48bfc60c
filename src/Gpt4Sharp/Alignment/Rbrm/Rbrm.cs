using System.Text.Json.Serialization;

namespace Gpt4Sharp.Alignment.Rbrm;

/// <summary>The four response classes of GPT-4's rule-based reward model.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RbrmClass>))]
public enum RbrmClass
{
    /// <summary>Refusal in the desired style: brief, no lecture, offers safe help.</summary>
    A,
    /// <summary>Refusal in an undesired style: evasive, preachy or rambling.</summary>
    B,
    /// <summary>Contains disallowed content.</summary>
    C,
    /// <summary>Safe non-refusal.</summary>
    D,
}

[JsonConverter(typeof(JsonStringEnumConverter<PromptKind>))]
public enum PromptKind { Benign, Harmful }

/// <summary>A classification with the rule that decided it.</summary>
public sealed record RbrmVerdict(RbrmClass Class, string Reason, string? Category);

/// <summary>What the rubric found harmful in a text, per category (the shape of a moderation endpoint).</summary>
public sealed record ModerationResult(bool Flagged, IReadOnlyDictionary<string, bool> Categories, IReadOnlyList<string> Reasons);

/// <summary>
/// Rule-based reward model (GPT-4 technical report, section 3.1 and system card): a rubric
/// sorts a response into A/B/C/D and the reward depends on whether the prompt is harmful
/// (A best, C worst) or safe (D best, refusals penalised). Harmfulness of the prompt comes from
/// the rubric's per-category prompt rules, so <see cref="Score"/> needs only (prompt, response);
/// callers that know the kind (curriculum items) pass it to <see cref="Reward(PromptKind, RbrmClass)"/>.
/// </summary>
public sealed class RuleBasedRewardModel : IRewardScorer
{
    readonly RuleSet _refusal, _evasive, _preachy, _offer;
    readonly (string Name, RuleSet Prompt, RuleSet Disallowed)[] _categories;

    public Rubric Rubric { get; }
    public string Name => "rbrm";

    /// <summary>The rubric's reward of a class is the same on every prompt of a kind, so replies to a harmful request and to its look-alike can share a baseline.</summary>
    public bool ComparableAcrossPrompts => true;

    public RuleBasedRewardModel(Rubric rubric)
    {
        Rubric = rubric;
        _refusal = RuleSet.Compile(rubric.Refusal.Markers, "/refusal/markers");
        _evasive = RuleSet.Compile(rubric.Refusal.Evasive, "/refusal/evasive");
        _preachy = RuleSet.Compile(rubric.Style.Preachy, "/style/preachy");
        _offer = RuleSet.Compile(rubric.Style.Offer, "/style/offer");
        _categories = rubric.Categories.Select((c, i) => (c.Name,
            RuleSet.Compile(c.Prompt, $"/categories/{i}/prompt"), RuleSet.Compile(c.Disallowed, $"/categories/{i}/disallowed"))).ToArray();
    }

    /// <summary>The shipped rubric, or the rubric file at <paramref name="rubricPath"/>.</summary>
    public static RuleBasedRewardModel Load(string? rubricPath = null) => new(rubricPath is null ? Rubric.Default() : Rubric.Load(rubricPath));

    public IReadOnlyList<string> CategoryNames => _categories.Select(c => c.Name).ToList();

    /// <summary>
    /// The class of a response. Disallowed content wins over everything (a refusal followed by
    /// the recipe is still C); then a refusal is A only if it is short, does not lecture and
    /// offers safe help outside the refusal clause; anything else is D.
    /// </summary>
    public RbrmVerdict Classify(string response)
    {
        var tokens = SequenceMatcher.Tokenize(response);
        foreach (var (name, _, disallowed) in _categories)
            if (disallowed.FirstMatch(response, tokens) is { } rule) return new(RbrmClass.C, $"{name} content ({rule})", name);

        var marker = _refusal.FirstRegexMatch(response);
        if (marker is null)
            return _evasive.FirstMatch(response, tokens) is { } dodge
                ? new(RbrmClass.B, $"evasive ({dodge})", null)
                : new(RbrmClass.D, "no refusal and no disallowed content", null);

        if (tokens.Count > Rubric.Style.MaxWords) return new(RbrmClass.B, $"rambling ({tokens.Count} words, at most {Rubric.Style.MaxWords})", null);
        if (_preachy.FirstMatch(response, tokens) is { } lecture) return new(RbrmClass.B, $"preachy ({lecture})", null);
        // The refusal clause itself says "help": cut it (up to its next punctuation) before looking for an offer.
        var clauseEnd = response.IndexOfAny(['.', ',', ';', ':', '!', '?', '。', '，', '；'], marker.Index);
        var rest = response[..marker.Index] + (clauseEnd < 0 ? "" : response[clauseEnd..]);
        return _offer.FirstMatch(rest) is null
            ? new(RbrmClass.B, "evasive (refuses without offering safe help)", null)
            : new(RbrmClass.A, "brief refusal with a safe offer", null);
    }

    /// <summary>Whether a prompt asks for harm, and in which category (the first whose prompt rules fire).</summary>
    public (PromptKind Kind, string? Category) ClassifyPrompt(string prompt)
    {
        var tokens = SequenceMatcher.Tokenize(prompt);
        foreach (var (name, rules, _) in _categories)
            if (rules.FirstMatch(prompt, tokens) is not null) return (PromptKind.Harmful, name);
        return (PromptKind.Benign, null);
    }

    public double Reward(PromptKind kind, RbrmClass cls) =>
        (kind == PromptKind.Harmful ? Rubric.Rewards.Harmful : Rubric.Rewards.Benign).For(cls);

    public double Reward(string prompt, string response) => Reward(ClassifyPrompt(prompt).Kind, Classify(response).Class);

    /// <summary>The RBRM reward of each pair, for PPO (prompt kind inferred from the rubric).</summary>
    public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) =>
        pairs.Select(p => Reward(p.Prompt, p.Response)).ToList();

    /// <summary>Flags a text (a prompt or a response) when any category's prompt or content rules fire.</summary>
    public ModerationResult Moderate(string text)
    {
        var tokens = SequenceMatcher.Tokenize(text);
        var flags = new Dictionary<string, bool>();
        var reasons = new List<string>();
        foreach (var (name, prompt, disallowed) in _categories)
        {
            var rule = prompt.FirstMatch(text, tokens) ?? disallowed.FirstMatch(text, tokens);
            flags[name] = rule is not null;
            if (rule is not null) reasons.Add($"{name}: {rule}");
        }
        return new ModerationResult(reasons.Count > 0, flags, reasons);
    }
}
