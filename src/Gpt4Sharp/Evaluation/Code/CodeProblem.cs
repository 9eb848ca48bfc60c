using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gpt4Sharp.Evaluation.Code;

/// <summary>A HumanEval-format task: the prompt to complete, the hidden test and the function it checks.</summary>
public sealed record CodeProblem(string TaskId, string Prompt, string? CanonicalSolution, string Test, string EntryPoint, string? Difficulty);

/// <summary>One model completion for a task, with the original JSON line kept so results can echo it.</summary>
public sealed record CodeSample(string TaskId, string Completion, JsonObject Line);

/// <summary>Reads the public human-eval harness's files: problems (JSONL or .jsonl.gz) and samples (task_id, completion).</summary>
public static class CodeFiles
{
    // Code is full of < > & and quotes: keep them literal, as Python's json.dumps does.
    static readonly JsonSerializerOptions LineJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IReadOnlyList<CodeProblem> LoadProblems(string path)
    {
        var problems = new List<CodeProblem>();
        var seen = new HashSet<string>();
        foreach (var (line, lineNumber) in ReadJsonLines(path))
        {
            var problem = new CodeProblem(
                RequiredString(line, "task_id", path, lineNumber),
                RequiredString(line, "prompt", path, lineNumber),
                OptionalString(line, "canonical_solution"),
                RequiredString(line, "test", path, lineNumber),
                RequiredString(line, "entry_point", path, lineNumber),
                line["difficulty"]?.ToString());
            if (!seen.Add(problem.TaskId))
                throw new UserError($"{path}:{lineNumber}: task_id '{problem.TaskId}' appears twice; each problem needs a unique task_id.");
            problems.Add(problem);
        }
        if (problems.Count == 0) throw new UserError($"'{path}' holds no problems; pass a HumanEval-format JSONL file.");
        return problems;
    }

    public static IReadOnlyList<CodeSample> LoadSamples(string path)
    {
        var samples = ReadJsonLines(path)
            .Select(x => new CodeSample(RequiredString(x.Line, "task_id", path, x.Number), RequiredString(x.Line, "completion", path, x.Number), x.Line))
            .ToList();
        if (samples.Count == 0) throw new UserError($"'{path}' holds no samples; each line needs task_id and completion.");
        return samples;
    }

    public static void WriteJsonLines(string path, IEnumerable<JsonObject> lines)
    {
        Runs.AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var line in lines) writer.Write(line.ToJsonString(LineJson) + "\n");
        });
    }

    /// <summary>Non-blank lines of a JSONL file (gzip when the name ends in .gz), each parsed to an object.</summary>
    public static IEnumerable<(JsonObject Line, int Number)> ReadJsonLines(string path)
    {
        if (!File.Exists(path)) throw new UserError($"File '{path}' does not exist; check the path.");
        using var file = File.OpenRead(path);
        using var stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new StreamReader(stream);
        var number = 0;
        while (true)
        {
            string? text;
            try { text = reader.ReadLine(); }
            catch (InvalidDataException) { throw new UserError($"'{path}' is not a valid gzip file; re-download it or pass the uncompressed .jsonl."); }
            if (text is null) yield break;
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(text); }
            catch (JsonException e) { throw new UserError($"{path}:{number} is not valid JSON ({e.Message}); fix or remove that line."); }
            if (node is not JsonObject obj) throw new UserError($"{path}:{number} is not a JSON object; each line must be one {{...}} record.");
            yield return (obj, number);
        }
    }

    static string RequiredString(JsonObject line, string field, string path, int number) =>
        line[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
        : line[field] is JsonValue n && field == "task_id" && n.GetValueKind() == JsonValueKind.Number ? n.ToJsonString()
        : throw new UserError($"{path}:{number} lacks the string field '{field}'; every line needs it.");

    static string? OptionalString(JsonObject line, string field) =>
        line[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
