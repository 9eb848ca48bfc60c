using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Json.Schema;

namespace Gpt4Sharp.Alignment.Rbrm;

/// <summary>One rule group as written in the rubric file.</summary>
public sealed record RubricRules(
    IReadOnlyList<string>? Patterns, IReadOnlyList<string>? Keywords,
    IReadOnlyList<RubricSequence>? Sequences, IReadOnlyList<string>? Exceptions);

public sealed record RubricSequence(IReadOnlyList<string> Steps, [property: JsonPropertyName("max_gap")] int? MaxGap);

public sealed record RubricRefusal(RubricRules Markers, RubricRules? Evasive);

public sealed record RubricStyle([property: JsonPropertyName("max_words")] int MaxWords, RubricRules Preachy, RubricRules Offer);

public sealed record RubricCategory(string Name, RubricRules Prompt, RubricRules Disallowed);

// Class letters stay upper-case in the file (the naming policy would lower them).
public sealed record ClassRewards(
    [property: JsonPropertyName("A")] double A, [property: JsonPropertyName("B")] double B,
    [property: JsonPropertyName("C")] double C, [property: JsonPropertyName("D")] double D)
{
    public double For(RbrmClass c) => c switch { RbrmClass.A => A, RbrmClass.B => B, RbrmClass.C => C, _ => D };
}

public sealed record RubricRewards(ClassRewards Harmful, ClassRewards Benign);

/// <summary>
/// The declarative rubric of the rule-based reward model: refusal markers, style rules for a
/// desired refusal, per-harm-category rules for harmful prompts and disallowed content, and the
/// reward of each class by prompt kind. Files are checked against rubric.schema.json (JSON Schema
/// 2020-12, validated with JsonSchema.Net) and every regular expression is compiled up front, so
/// a bad rubric fails at load with one sentence naming the JSON path.
/// </summary>
public sealed record Rubric(string Name, RubricRefusal Refusal, RubricStyle Style, IReadOnlyList<RubricCategory> Categories, RubricRewards Rewards)
{
    const string ResourcePrefix = "Gpt4Sharp.Alignment.Rbrm.";

    static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(ReadResource("rubric.schema.json")));

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The rubric shipped with the library (embedded rubric.default.json).</summary>
    public static string DefaultJson => ReadResource("rubric.default.json");

    public static Rubric Default() => Parse(DefaultJson, "the default rubric");

    public static Rubric Load(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Rubric file {path} does not exist; give a JSON rubric (print the default with `gpt4sharp rbrm rubric`).");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates rubric JSON; <paramref name="source"/> names it in errors.</summary>
    public static Rubric Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new UserError($"Rubric {source} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
        using (document)
        {
            var result = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (!result.IsValid)
            {
                var first = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                    .OrderByDescending(d => d.InstanceLocation.ToString().Length).FirstOrDefault();
                var where = first is null ? "/" : first.InstanceLocation.ToString() is { Length: > 0 } p ? p : "/";
                var what = first?.Errors?.Values.First() ?? "does not match the rubric schema";
                throw new UserError($"Rubric {source} is invalid at {where}: {what.TrimEnd('.')}.");
            }
            var rubric = document.RootElement.Deserialize<Rubric>(Json)!;
            var duplicate = rubric.Categories.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) throw new UserError($"Rubric {source} names the category '{duplicate.Key}' twice under /categories; give each category once.");
            return rubric;
        }
    }

    static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourcePrefix + name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from the Gpt4Sharp assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
