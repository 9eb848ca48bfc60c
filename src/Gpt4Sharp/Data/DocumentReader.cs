using System.Text;
using System.Text.Json;

namespace Gpt4Sharp.Data;

/// <summary>How a .txt file is cut into documents.</summary>
public enum TextSplit
{
    /// <summary>Documents are separated by one or more blank (empty or whitespace-only) lines.</summary>
    BlankLines,
    /// <summary>The whole file is one document.</summary>
    WholeFile,
}

/// <summary>
/// Streams documents from the user's files: <c>.txt</c> (see <see cref="TextSplit"/>) and
/// <c>.jsonl</c> (one JSON object per line with a string <c>text</c> field; empty lines are
/// skipped). A directory is read recursively, its .txt and .jsonl files in ordinal path order,
/// so the document order (and so the train/validation split) never depends on the file system.
/// </summary>
public static class DocumentReader
{
    public static IEnumerable<string> Read(IEnumerable<string> paths, TextSplit textSplit = TextSplit.BlankLines)
    {
        foreach (var path in paths)
            foreach (var file in Expand(path))
                foreach (var doc in ReadFile(file, textSplit))
                    yield return doc;
    }

    public static IEnumerable<string> ReadFile(string file, TextSplit textSplit = TextSplit.BlankLines) =>
        Path.GetExtension(file).ToLowerInvariant() switch
        {
            ".txt" => ReadText(file, textSplit),
            ".jsonl" => ReadJsonl(file),
            _ => throw new UserError($"{file} is neither a .txt nor a .jsonl file; give text files (documents separated by blank lines) or JSONL files with a \"text\" field."),
        };

    static IEnumerable<string> Expand(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new UserError($"Input {path} does not exist; give existing .txt/.jsonl files or a directory holding them.");
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".txt" or ".jsonl")
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new UserError($"Directory {path} holds no .txt or .jsonl files; add some or point to another directory.");
        return files;
    }

    static IEnumerable<string> ReadText(string file, TextSplit split)
    {
        if (split == TextSplit.WholeFile)
        {
            var all = File.ReadAllText(file);
            if (all.Trim().Length > 0) yield return all;
            yield break;
        }
        var doc = new StringBuilder();
        foreach (var line in File.ReadLines(file))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                if (doc.Length > 0) yield return doc.ToString();
                doc.Clear();
                continue;
            }
            if (doc.Length > 0) doc.Append('\n');
            doc.Append(line);
        }
        if (doc.Length > 0) yield return doc.ToString();
    }

    static IEnumerable<string> ReadJsonl(string file)
    {
        var lineNumber = 0;
        foreach (var line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return TextField(line, file, lineNumber);
        }
    }

    static string TextField(string line, string file, int lineNumber)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("text", out var text)
                && text.ValueKind == JsonValueKind.String)
                return text.GetString()!;
        }
        catch (JsonException e)
        {
            throw new UserError($"{file} line {lineNumber} is not valid JSON ({e.Message.Split('.')[0]}); fix that line so it is one JSON object with a \"text\" string.", e);
        }
        throw new UserError($"{file} line {lineNumber} has no \"text\" string field; every JSONL line must be an object like {{\"text\": \"...\"}}.");
    }
}
