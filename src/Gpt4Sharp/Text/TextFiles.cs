using System.Text.Json;

namespace Gpt4Sharp.Text;

/// <summary>
/// Reads training text: plain files are one document each; .jsonl files hold one JSON object
/// per line whose "text" string is a document. Directories are searched recursively for
/// .txt, .md and .jsonl files, in ordinal path order so runs are repeatable.
/// </summary>
public static class TextFiles
{
    static readonly string[] DirectoryExtensions = [".txt", ".md", ".jsonl"];

    /// <summary>The documents of all given files and directories; throws <see cref="UserError"/> for a missing path or a bad JSONL line.</summary>
    public static List<string> ReadDocuments(IEnumerable<string> paths)
    {
        var documents = new List<string>();
        foreach (var file in ExpandPaths(paths))
        {
            if (file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) documents.AddRange(ReadJsonl(file));
            else documents.Add(File.ReadAllText(file));
        }
        return documents;
    }

    static IEnumerable<string> ExpandPaths(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (File.Exists(path)) yield return path;
            else if (Directory.Exists(path))
            {
                var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => DirectoryExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new UserError($"Directory '{path}' has no .txt, .md or .jsonl files to read.");
                foreach (var file in files) yield return file;
            }
            else throw new UserError($"Input '{path}' does not exist; pass existing text/JSONL files or directories.");
        }
    }

    static IEnumerable<string> ReadJsonl(string file)
    {
        int lineNumber = 0;
        foreach (var line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? text = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
                    text = value.GetString();
            }
            catch (JsonException) { }
            yield return text ?? throw new UserError($"{file}:{lineNumber} is not a JSON object with a \"text\" string; fix that line or pass the file as plain text.");
        }
    }
}
