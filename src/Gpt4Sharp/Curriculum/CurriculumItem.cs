using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Gpt4Sharp.Curriculum;

/// <summary>Which side of the train/eval wall an item lives on.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Split>))]
public enum Split { Train, Eval }

/// <summary>A chat-formatted training example in the OpenAI shape {"messages":[...]}.</summary>
public sealed record ChatExample(IReadOnlyList<ChatMessage> Messages);

/// <summary>A checker's verdict on one model answer, with the reason when it is wrong.</summary>
public sealed record CheckResult(bool Correct, string Reason)
{
    public static CheckResult Right(string reason = "correct") => new(true, reason);
    public static CheckResult Wrong(string reason) => new(false, reason);
}

/// <summary>
/// One generated problem. <see cref="Answer"/> is the exact canonical answer a checker
/// compares against; <see cref="Response"/> is the full reply a model should learn to write
/// (rationale plus final answer line where the family has one). <see cref="Canonical"/> is the
/// text the split rule hashes, so two items with the same canonical problem share a split.
/// </summary>
public sealed record CurriculumItem
{
    /// <summary>"family:split:seed:index"; <see cref="CurriculumRegistry.Regenerate"/> rebuilds the item from it.</summary>
    public required string Id { get; init; }
    public required string Family { get; init; }
    /// <summary>Sub-type inside the family (e.g. "word_problem", "refusal", "bar_chart").</summary>
    public required string Kind { get; init; }
    /// <summary>1 = easiest; for code 1..3 are the easy/medium/hard tiers; for arithmetic the step count.</summary>
    public int Difficulty { get; init; } = 1;
    public Split Split { get; init; }
    public string Language { get; init; } = "en";
    /// <summary>The question as the user asks it.</summary>
    public required string Prompt { get; init; }
    /// <summary>The exact canonical answer.</summary>
    public required string Answer { get; init; }
    /// <summary>Step-by-step reasoning, where the family has one.</summary>
    public string? Rationale { get; init; }
    /// <summary>The whole desired assistant reply.</summary>
    public required string Response { get; init; }
    /// <summary>Earlier turns of a multi-turn conversation (before <see cref="Prompt"/>).</summary>
    public IReadOnlyList<ChatMessage>? History { get; init; }
    /// <summary>PNG file name for image families (written next to the JSONL).</summary>
    public string? Image { get; init; }
    /// <summary>The problem in canonical form; the split rule hashes it.</summary>
    public required string Canonical { get; init; }
    /// <summary>Family-specific fields (chart values, HumanEval fields, poem constraints, ...).</summary>
    public JsonObject? Extra { get; init; }
}
