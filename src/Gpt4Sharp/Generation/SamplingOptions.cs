namespace Gpt4Sharp.Generation;

/// <summary>
/// How to pick each next token. Temperature 0 is greedy decoding. Top-k and top-p (nucleus)
/// filters apply after the repetition penalty (CTRL, Keskar et al. 2019: logits of tokens
/// already in the sequence are divided by the penalty when positive, multiplied when negative).
/// </summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep only the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of tokens whose probability sums to at least p; 1 keeps all.</summary>
    public double TopP { get; init; } = 1.0;
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Generation ends before any of these strings; the string itself is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Token ids that end generation (end of text, end of turn); they are not returned.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];
    public long Seed { get; init; } = 1234;

    public static SamplingOptions Greedy(int maxNewTokens) => new() { MaxNewTokens = maxNewTokens, Temperature = 0 };

    public SamplingOptions Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid sampling option: {what}."); }
        Require(MaxNewTokens >= 0, $"max new tokens must be 0 or more (got {MaxNewTokens})");
        Require(Temperature >= 0 && double.IsFinite(Temperature), $"temperature must be 0 (greedy) or positive (got {Temperature})");
        Require(TopK >= 0, $"top-k must be 0 (off) or positive (got {TopK})");
        Require(TopP > 0 && TopP <= 1, $"top-p must be in (0, 1] (got {TopP})");
        Require(RepetitionPenalty > 0 && double.IsFinite(RepetitionPenalty), $"repetition penalty must be positive (got {RepetitionPenalty})");
        Require(Stop.All(s => s.Length > 0), "stop sequences must not be empty strings");
        return this;
    }
}

/// <summary>Why generation ended: a stop sequence or token, the token budget, or the model's context.</summary>
public enum FinishReason { Stop, Length, ContextFull }

/// <summary>One streamed step: the token id and the text it completed (empty while a UTF-8 character is still split).</summary>
public readonly record struct GeneratedToken(int Id, string Text);
