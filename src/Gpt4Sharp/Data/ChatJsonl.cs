using System.Text.Json;

namespace Gpt4Sharp.Data;

/// <summary>Reads chat datasets in the OpenAI shape: one <c>{"messages": [{"role": ..., "content": ...}, ...]}</c> per line.</summary>
public static class ChatJsonl
{
    static readonly HashSet<string> Roles = ["system", "user", "assistant"];

    public static IEnumerable<IReadOnlyList<ChatMessage>> Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"Chat data file '{path}' does not exist; pass a JSONL file of {{\"messages\": [...]}} lines.");
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return Parse(line, $"{path}:{lineNumber}");
        }
    }

    static List<ChatMessage> Parse(string line, string where)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (!doc.RootElement.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                throw new UserError($"{where} has no \"messages\" array; each line must be {{\"messages\": [{{\"role\": \"user\", \"content\": \"...\"}}, ...]}}.");
            var list = new List<ChatMessage>();
            foreach (var m in messages.EnumerateArray())
            {
                string? role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                string? content = m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                if (role is null || content is null || !Roles.Contains(role))
                    throw new UserError($"{where} has a message without a string \"content\" or with a role other than system, user or assistant.");
                list.Add(new ChatMessage(role, content));
            }
            if (!list.Any(m => m.Role == "assistant"))
                throw new UserError($"{where} has no assistant message, so there is nothing to learn from it.");
            return list;
        }
        catch (JsonException e)
        {
            throw new UserError($"{where} is not valid JSON ({e.Message}).", e);
        }
    }
}
