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

    /// <summary>HumanEval-format problems; MBPP lines (text, code, test_list) are converted to that format.</summary>
    public static IReadOnlyList<CodeProblem> LoadProblems(string path)
    {
        var problems = new List<CodeProblem>();
        var seen = new HashSet<string>();
        foreach (var (line, lineNumber) in ReadJsonLines(path))
        {
            var problem = line.ContainsKey("test_list") && !line.ContainsKey("prompt") ? FromMbpp(line, path, lineNumber) : new CodeProblem(
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

    /// <summary>
    /// MBPP as a HumanEval-format problem: the prompt is the description and first test in a
    /// docstring (the completion writes the whole function), the test asserts every listed case.
    /// The function is bound to a private name before check() is defined and the asserts call
    /// the candidate, because some MBPP solutions define a function named check themselves.
    /// </summary>
    const string MbppEntryPoint = "_mbpp_solution";

    static CodeProblem FromMbpp(JsonObject line, string path, int number)
    {
        var tests = line["test_list"] is JsonArray list ? list.Select(t => t?.GetValue<string>() ?? "").Where(t => t.Length > 0).ToList() : [];
        if (tests.Count == 0) throw new UserError($"{path}:{number}: the MBPP record has no test_list; pass the original mbpp.jsonl.");
        var name = System.Text.RegularExpressions.Regex.Match(tests[0], @"assert\s*\(?\s*(?:not\s+)?(?:math\.isclose\()?\s*\(?\s*([A-Za-z_]\w*)\s*\(");
        if (!name.Success) throw new UserError($"{path}:{number}: cannot find the function name in the first MBPP test; pass the original mbpp.jsonl.");
        var text = RequiredString(line, "text", path, number);
        var setup = OptionalString(line, "test_setup_code") ?? "";
        var function = name.Groups[1].Value;
        var call = new System.Text.RegularExpressions.Regex($@"(?<![\w.]){function}\s*\(");
        return new CodeProblem($"MBPP/{line["task_id"]}", $"\"\"\"\n{text}\n{tests[0]}\n\"\"\"\n", OptionalString(line, "code"),
            $"{setup}\n\n{MbppEntryPoint} = {function}\n\ndef check(candidate):\n" + string.Concat(tests.Select(t => "    " + call.Replace(t, "candidate(") + "\n")),
            MbppEntryPoint, null);
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
