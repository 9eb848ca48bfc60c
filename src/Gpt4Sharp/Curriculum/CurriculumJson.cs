using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gpt4Sharp.Curriculum;

/// <summary>JSONL reading and writing for items and chat examples (snake_case, nulls omitted, Chinese kept readable).</summary>
public static class CurriculumJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string ToLine<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static CurriculumItem ItemFromLine(string line) =>
        JsonSerializer.Deserialize<CurriculumItem>(line, Options) ?? throw new JsonException("empty item line");
}
