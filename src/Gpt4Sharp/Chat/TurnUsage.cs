using System.Text.Json.Serialization;

namespace Gpt4Sharp.Chat;

/// <summary>Why an answer ended: the model's end-of-turn token, the token budget, a full context, or the user stopping it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TurnEnd>))]
public enum TurnEnd { Stop, Length, ContextFull, Cancelled }

/// <summary>
/// Metering of one turn, as an API bills it: prompt tokens are everything the answer was
/// conditioned on (the cached history plus the newly processed tokens), completion tokens
/// the answer. Times are wall-clock seconds.
/// </summary>
public sealed record TurnUsage
{
    public int Turn { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    /// <summary>Prompt tokens reused from the KV cache or memory instead of being processed again.</summary>
    public int CachedTokens { get; init; }
    /// <summary>Prompt tokens processed this turn.</summary>
    public int NewTokens { get; init; }
    public decimal Cost { get; init; }
    public double TimeToFirstToken { get; init; }
    /// <summary>Mean seconds per token after the first (0 when the answer had one token or none).</summary>
    public double DecodeSecondsPerToken { get; init; }
    /// <summary>True when the oldest turns were dropped from the window (dense models) before this turn.</summary>
    public bool WindowSlid { get; init; }
    public TurnEnd End { get; init; }
}
