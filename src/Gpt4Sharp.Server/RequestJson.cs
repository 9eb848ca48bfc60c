using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gpt4Sharp.Server;

/// <summary>
/// Typed reads of a request body's fields, each failing with a 400 that names the field, so
/// that a wrong type is reported as OpenAI does instead of surfacing as a server error.
/// </summary>
sealed class RequestJson(JsonObject body)
{
    public JsonObject Body => body;

    public static RequestJson Parse(byte[] bytes)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }); }
        catch (JsonException e) { throw ApiError.BadRequest($"The request body is not valid JSON ({e.Message}).", code: "invalid_json"); }
        catch (ArgumentException e) { throw ApiError.BadRequest($"The request body is not valid JSON ({e.Message}).", code: "invalid_json"); }
        if (node is not JsonObject obj) throw ApiError.BadRequest("The request body must be a JSON object.", code: "invalid_json");
        return new RequestJson(obj);
    }

    JsonNode? Field(string name) => body.TryGetPropertyValue(name, out var v) ? v : null;

    static ApiError WrongType(string name, string expected) =>
        ApiError.BadRequest($"'{name}' must be {expected}.", param: name, code: "invalid_type");

    public string RequiredString(string name) =>
        OptionalString(name) ?? throw ApiError.BadRequest($"'{name}' is required.", param: name, code: "missing_required_parameter");

    public string? OptionalString(string name) => Field(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw WrongType(name, "a string"),
    };

    public bool Bool(string name, bool fallback) => Field(name) switch
    {
        null => fallback,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw WrongType(name, "true or false"),
    };

    public double? Number(string name) => Field(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && double.IsFinite(d) => d,
        _ => throw WrongType(name, "a number"),
    };

    public long? Integer(string name) => Field(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => throw WrongType(name, "an integer within range"),
        _ => throw WrongType(name, "an integer"),
    };

    /// <summary>A field that may be one string or an array of strings (stop, input, prompt).</summary>
    public IReadOnlyList<string>? StringOrArray(string name) => Field(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
        JsonArray a when a.All(e => e is JsonValue ev && ev.GetValueKind() == JsonValueKind.String) => a.Select(e => e!.GetValue<string>()).ToList(),
        _ => throw WrongType(name, "a string or an array of strings"),
    };

    public JsonArray? Array(string name) => Field(name) switch
    {
        null => null,
        JsonArray a => a,
        _ => throw WrongType(name, "an array"),
    };

    public JsonObject? Object(string name) => Field(name) switch
    {
        null => null,
        JsonObject o => o,
        _ => throw WrongType(name, "an object"),
    };
}
