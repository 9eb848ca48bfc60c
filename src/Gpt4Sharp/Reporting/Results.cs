using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Reporting;

/// <summary>The results.json every command writes: indented JSON, snake_case names, written atomically.</summary>
public static class Results
{
    public const string FileName = "results.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a file, never embedded in HTML
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serialises <paramref name="results"/> to DIR/results.json and returns the path.</summary>
    public static string Write(string directory, object results)
    {
        var path = Path.Combine(directory, FileName);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(results, results.GetType(), Json));
        return path;
    }

    /// <summary>Reads a results.json, given the file or the run directory holding it.</summary>
    public static JsonNode Read(string fileOrDirectory)
    {
        var path = Directory.Exists(fileOrDirectory) ? Path.Combine(fileOrDirectory, FileName) : fileOrDirectory;
        if (!File.Exists(path))
            throw new UserError($"No results found at '{path}'; pass a run directory containing {FileName} or the file itself.");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) ?? throw new UserError($"'{path}' is empty JSON (null); rerun the command that wrote it.");
        }
        catch (JsonException e)
        {
            throw new UserError($"'{path}' is not valid JSON ({e.Message}); rerun the command that wrote it.");
        }
    }

    /// <summary>A number read back from results JSON: null when missing or not a number; NaN and infinities from their names.</summary>
    public static double? Number(JsonNode? node) => node is JsonValue value ? value.GetValueKind() switch
    {
        // Through the JSON text, so numbers held as long, int or double all convert.
        JsonValueKind.Number => double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture),
        JsonValueKind.String when double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var named) => named,
        _ => null,
    } : null;

    /// <summary>
    /// Every number in the document under a dotted path ("pass_at_k.pass@1", "tiers.0.solved");
    /// booleans count as 0/1. Strings and nulls are skipped.
    /// </summary>
    public static SortedDictionary<string, double> FlattenNumbers(JsonNode? node)
    {
        var flat = new SortedDictionary<string, double>(StringComparer.Ordinal);
        Walk(node, "", flat);
        return flat;
    }

    static void Walk(JsonNode? node, string path, SortedDictionary<string, double> flat)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj) Walk(child, path.Length == 0 ? key : $"{path}.{key}", flat);
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++) Walk(array[i], $"{path}.{i.ToString(CultureInfo.InvariantCulture)}", flat);
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number:
                flat[path] = value.GetValue<double>();
                break;
            case JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                flat[path] = value.GetValue<bool>() ? 1 : 0;
                break;
        }
    }
}
