using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gpt4Sharp.Chat;

/// <summary>Prices of one context tier in US dollars per 1,000 tokens; it applies to models whose context is at most <see cref="MaxContext"/>.</summary>
public sealed record PriceTier(
    [property: JsonPropertyName("max_context")] int MaxContext,
    [property: JsonPropertyName("prompt_per_1k")] decimal PromptPer1K,
    [property: JsonPropertyName("completion_per_1k")] decimal CompletionPer1K);

/// <summary>
/// What a turn costs: the tier is the smallest whose <see cref="PriceTier.MaxContext"/> holds
/// the model's context (the largest tier beyond that). JSON-configurable; the default is
/// OpenAI's published GPT-4 prices (March 2023): 8K context $0.03 / $0.06 per 1K prompt /
/// completion tokens, 32K context $0.06 / $0.12.
/// </summary>
public sealed record PriceTable([property: JsonPropertyName("tiers")] IReadOnlyList<PriceTier> Tiers)
{
    public static PriceTable Gpt4 { get; } = new([new PriceTier(8192, 0.03m, 0.06m), new PriceTier(32768, 0.06m, 0.12m)]);

    public PriceTier TierFor(int contextLength) =>
        Tiers.OrderBy(t => t.MaxContext).FirstOrDefault(t => t.MaxContext >= contextLength) ?? Tiers.MaxBy(t => t.MaxContext)!;

    public decimal Cost(int contextLength, int promptTokens, int completionTokens)
    {
        var tier = TierFor(contextLength);
        return (promptTokens * tier.PromptPer1K + completionTokens * tier.CompletionPer1K) / 1000m;
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Reads a price table such as <c>{"tiers":[{"max_context":8192,"prompt_per_1k":0.03,"completion_per_1k":0.06}]}</c>.</summary>
    public static PriceTable Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Price table {path} does not exist; give a JSON file with a \"tiers\" list.");
        PriceTable? table;
        try { table = JsonSerializer.Deserialize<PriceTable>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new UserError($"Price table {path} is not valid JSON ({e.Message}); see README's section \"Chat sessions and metering\" for the format.", e); }
        if (table?.Tiers is not { Count: > 0 } tiers || tiers.Any(t => t is null || t.MaxContext < 1 || t.PromptPer1K < 0 || t.CompletionPer1K < 0))
            throw new UserError($"Price table {path} needs a non-empty \"tiers\" list with positive max_context and non-negative prices.");
        return table;
    }
}
