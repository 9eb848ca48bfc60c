using System.Text.Json;

namespace Gpt4Sharp.Curriculum;

/// <summary>A checker's verdict on one answer of a file.</summary>
public sealed record ScoredAnswer(string Id, string Kind, int Difficulty, bool Correct, string Reason);

/// <summary>
/// Scores a JSONL file of model answers. Each row holds "id" (as written by make) and the
/// answer under "answer", "model_answer", "completion" or "response"; the item is rebuilt
/// from its id, or looked up in an items file when one is given.
/// </summary>
public static class AnswerScoring
{
    static readonly string[] AnswerKeys = ["answer", "model_answer", "completion", "response"];

    public static IEnumerable<(string Id, string Answer)> ReadAnswers(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Answers file '{path}' does not exist; pass a JSONL file with id and answer fields.");
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement row;
            try { row = JsonDocument.Parse(line).RootElement; }
            catch (JsonException) { throw new UserError($"Line {lineNo} of '{path}' is not JSON; write one {{\"id\":..., \"answer\":...}} object per line."); }
            if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String)
                throw new UserError($"Line {lineNo} of '{path}' has no string \"id\"; copy the id from the generated items.");
            var key = AnswerKeys.FirstOrDefault(k => row.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String)
                ?? throw new UserError($"Line {lineNo} of '{path}' has no string answer; name it \"answer\".");
            yield return (id.GetString()!, row.GetProperty(key).GetString()!);
        }
    }

    public static IReadOnlyDictionary<string, CurriculumItem> ReadItems(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Items file '{path}' does not exist; pass the JSONL written by `curriculum make`.");
        return File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).Select(CurriculumJson.ItemFromLine).ToDictionary(i => i.Id);
    }

    public static ScoredAnswer Score(ICurriculumFamily family, string id, string answer, IReadOnlyDictionary<string, CurriculumItem>? items = null)
    {
        var item = items is not null
            ? items.GetValueOrDefault(id) ?? throw new UserError($"Answer id '{id}' is not in the items file; score answers against the items they came from.")
            : CurriculumRegistry.Regenerate(id);
        if (item.Family != family.Name)
            throw new UserError($"Answer id '{id}' belongs to family '{item.Family}', not '{family.Name}'; pass --family {item.Family}.");
        var verdict = family.Check(item, answer);
        return new ScoredAnswer(id, item.Kind, item.Difficulty, verdict.Correct, verdict.Reason);
    }
}
