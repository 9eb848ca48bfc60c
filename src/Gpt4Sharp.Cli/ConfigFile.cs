using System.CommandLine;
using System.Text.Json;
using Gpt4Sharp;

namespace Gpt4Sharp.Cli;

/// <summary>
/// Options from a file: <c>--config FILE.json</c> holds one JSON object whose keys are option
/// names without dashes (<c>{"steps": 500, "d-model": 128, "tags": ["a", "b"]}</c>). Options
/// given on the command line win over the file. The file is expanded into ordinary
/// arguments before parsing, so every verb supports it and help stays truthful.
/// </summary>
public static class ConfigFile
{
    public static readonly Option<FileInfo?> Option = new("--config")
    {
        Description = "JSON file of option values ({\"option-name\": value}); command-line options override it.",
        Recursive = true,
    };

    public static string[] Expand(string[] args)
    {
        int at = Array.IndexOf(args, "--config");
        if (at < 0 || at + 1 >= args.Length) return args;
        var path = args[at + 1];
        var rest = args.Take(at).Concat(args.Skip(at + 2)).ToList();
        JsonElement doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (FileNotFoundException) { return Fail(path, "does not exist"); }
        catch (JsonException e) { return Fail(path, $"is not valid JSON ({e.Message})"); }
        if (doc.ValueKind != JsonValueKind.Object) return Fail(path, "must hold one JSON object of option names and values");
        foreach (var property in doc.EnumerateObject())
        {
            var name = "--" + property.Name.TrimStart('-');
            if (rest.Contains(name)) continue;
            var values = property.Value.ValueKind == JsonValueKind.Array ? property.Value.EnumerateArray().ToArray() : [property.Value];
            foreach (var v in values)
            {
                rest.Add(name);
                rest.Add(v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText());
            }
        }
        return rest.ToArray();
    }

    static string[] Fail(string path, string why)
    {
        Cli.Error(new UserError($"Config file '{path}' {why}; pass a JSON object such as {{\"steps\": 100}}."));
        Environment.Exit(2);
        return [];
    }
}
