using System.Text;
using System.Text.Json;
using Gpt4Sharp.Curriculum.Code;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Curriculum;

/// <summary>
/// A recipe for a training set: family weights, how many items, seed, split, and optional
/// per-family difficulty caps. Item k picks its family from the weights with a generator
/// seeded by (seed, k) and takes that family's item k, so any slice can be built alone.
/// Text families only: pictures are written by <c>curriculum make</c>.
/// </summary>
public sealed record Mixture
{
    const int MaxDifficultyAttempts = 256;

    public long Seed { get; init; }
    public int Count { get; init; } = 10_000;
    public Split Split { get; init; } = Split.Train;
    public Dictionary<string, double> Weights { get; init; } = [];
    /// <summary>Optional cap on item difficulty per family (e.g. arithmetic at most 2 steps).</summary>
    public Dictionary<string, int>? MaxDifficulty { get; init; }
    /// <summary>
    /// Share of the safety family's requests left out of the mixture and kept for PPO's practice
    /// (<see cref="SafetyFamily.IsReservedForPractice"/>); 0, the default, leaves none out.
    /// </summary>
    public double SafetyPracticeReserve { get; init; }
    /// <summary>System turn for chat examples; empty for none.</summary>
    public string SystemPrompt { get; init; } = "You are a helpful assistant.";

    /// <summary>
    /// Short, regular items a 1-3M-parameter model picks up within minutes: 1-2 step
    /// arithmetic, small bridge puzzles, world facts, short translations and memory chats.
    /// </summary>
    public static Mixture DefaultPretrain(long seed, int count = 100_000) => new()
    {
        Seed = seed, Count = count,
        Weights = new() { ["arithmetic"] = 4, ["knowledge"] = 3, ["bilingual"] = 1, ["bridge"] = 0.5, ["safety"] = 1, ["dialogue"] = 0.5, ["code"] = 0.5 },
        MaxDifficulty = new() { ["arithmetic"] = 2, ["bridge"] = 3, ["bilingual"] = 1, ["dialogue"] = 1, ["code"] = 1 },
    };

    /// <summary>Every text family at full difficulty, for supervised fine-tuning.</summary>
    public static Mixture DefaultFineTune(long seed, int count = 20_000) => new()
    {
        Seed = seed, Count = count,
        Weights = new() { ["arithmetic"] = 3, ["bridge"] = 1, ["code"] = 2, ["safety"] = 2, ["knowledge"] = 2, ["bilingual"] = 2, ["dialogue"] = 1 },
    };

    public static Mixture Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Mixture file '{path}' does not exist; pass a JSON file with seed, count and weights.");
        try
        {
            return JsonSerializer.Deserialize<Mixture>(File.ReadAllText(path), CurriculumJson.Options)?.Validated()
                   ?? throw new UserError($"Mixture file '{path}' is empty; write seed, count and weights in it.");
        }
        catch (JsonException e)
        {
            throw new UserError($"Mixture file '{path}' is not valid JSON ({e.Message}); fix it and retry.", e);
        }
    }

    /// <summary>Checks names, weights and count; throws a <see cref="UserError"/> naming the fix.</summary>
    public Mixture Validated()
    {
        if (Count <= 0) throw new UserError($"Mixture count is {Count}; set a positive count.");
        if (Weights.Count == 0 || Weights.Values.Any(w => w < 0 || double.IsNaN(w)) || Weights.Values.Sum() <= 0)
            throw new UserError("Mixture weights must name at least one family with a positive weight and none negative.");
        if (SafetyPracticeReserve is not (>= 0 and < 1))
            throw new UserError($"Mixture safety_practice_reserve is {SafetyPracticeReserve}; give a share from 0 up to but not including 1.");
        foreach (var name in Weights.Keys.Concat(MaxDifficulty?.Keys ?? Enumerable.Empty<string>()))
            if (CurriculumRegistry.Get(name) is IImageFamily)
                throw new UserError($"Family '{name}' draws pictures and cannot be in a text mixture; write it with `curriculum make`.");
        return this;
    }

    /// <summary>The mixture's items in order, each with the family that made it.</summary>
    public IEnumerable<(ICurriculumFamily Family, CurriculumItem Item)> Items()
    {
        Validated();
        var families = Weights.Where(w => w.Value > 0).OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => (Family: CurriculumRegistry.Get(w.Key), w.Value)).ToArray();
        var total = families.Sum(f => f.Value);
        for (long k = 0; k < Count; k++) yield return ItemAt(families, total, k);
    }

    (ICurriculumFamily, CurriculumItem) ItemAt((ICurriculumFamily Family, double Weight)[] families, double total, long k)
    {
        var roll = ItemRng.For(Seed, k, salt: 0x4D49585455524555UL).NextDouble() * total;
        var family = families[^1].Family;
        foreach (var (f, w) in families)
        {
            if (roll < w) { family = f; break; }
            roll -= w;
        }
        var cap = MaxDifficulty?.GetValueOrDefault(family.Name, int.MaxValue) ?? int.MaxValue;
        for (var attempt = 0; attempt < MaxDifficultyAttempts; attempt++)
        {
            var item = family.Make(Seed, Split, k * MaxDifficultyAttempts + attempt);
            if (item.Difficulty <= cap && !(item.Family == "safety" && SafetyFamily.IsReservedForPractice(item, SafetyPracticeReserve))) return (family, item);
        }
        throw new UserError($"No {family.Name} item has difficulty at most {cap} outside the practice reserve; raise its max_difficulty or lower safety_practice_reserve.");
    }

    /// <summary>Plain-text documents for pretraining, one per item, each self-contained.</summary>
    public IEnumerable<string> PretrainDocuments() => Items().Select(p => ToDocument(p.Item));

    /// <summary>Chat-formatted examples (system/user/assistant) for instruction tuning.</summary>
    public IEnumerable<ChatExample> ChatExamples() => Items().Select(p => ToChat(p.Item, SystemPrompt));

    /// <summary>"Q: ... / A: ..." for single questions, "User:/Assistant:" turns for conversations, source code for code tasks.</summary>
    public static string ToDocument(CurriculumItem item)
    {
        if (item.Family == "code")
        {
            var task = CodeFamily.ToHumanEval(item);
            return task.Prompt + task.CanonicalSolution;
        }
        if (item.History is { Count: > 0 } history)
        {
            var sb = new StringBuilder();
            foreach (var m in history) sb.Append(m.Role == "user" ? "User: " : "Assistant: ").Append(m.Content).Append('\n');
            return sb.Append("User: ").Append(item.Prompt).Append("\nAssistant: ").Append(item.Response).ToString();
        }
        return $"Q: {item.Prompt}\nA: {item.Response}";
    }

    public static ChatExample ToChat(CurriculumItem item, string? systemPrompt)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(systemPrompt)) messages.Add(new ChatMessage("system", systemPrompt));
        if (item.History is not null) messages.AddRange(item.History);
        var user = item.Family == "code" ? $"Complete this Python function:\n```python\n{item.Prompt}```" : item.Prompt;
        messages.Add(new ChatMessage("user", user));
        messages.Add(new ChatMessage("assistant", item.Response));
        return new ChatExample(messages);
    }
}
