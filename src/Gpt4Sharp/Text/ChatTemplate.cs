namespace Gpt4Sharp.Text;

/// <summary>Token ids of a conversation and, per position, whether it is assistant output (the SFT loss mask).</summary>
public sealed record ChatEncoding(int[] Ids, bool[] AssistantMask);

/// <summary>
/// The project's chat format, shared by SFT, generation and serving. Each message is
/// <c>&lt;|role|&gt;content&lt;|end|&gt;</c> with no separators, e.g.
/// <c>&lt;|system|&gt;Be brief.&lt;|end|&gt;&lt;|user|&gt;Hi&lt;|end|&gt;&lt;|assistant|&gt;Hello!&lt;|end|&gt;</c>;
/// a generation prompt appends <c>&lt;|assistant|&gt;</c> and the model writes until it emits
/// <c>&lt;|end|&gt;</c>. Message content is always encoded as plain text, so a user who types
/// "&lt;|end|&gt;" cannot forge a turn boundary.
/// </summary>
public static class ChatTemplate
{
    static readonly Dictionary<string, string> RoleTokens = new()
    {
        ["system"] = SpecialTokens.System,
        ["user"] = SpecialTokens.User,
        ["assistant"] = SpecialTokens.Assistant,
    };

    /// <summary>The conversation as text (what <see cref="Encode"/> encodes, for display and logs).</summary>
    public static string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        var text = string.Concat(messages.Select(m => RoleToken(m.Role) + m.Content + SpecialTokens.EndOfTurn));
        return addGenerationPrompt ? text + SpecialTokens.Assistant : text;
    }

    /// <summary>
    /// Encodes the conversation. The mask is true on assistant content and on the
    /// <c>&lt;|end|&gt;</c> that closes an assistant turn (so the model learns to stop), false on
    /// role tokens and on system/user turns. Throws <see cref="UserError"/> for an unknown role or a
    /// tokenizer without the chat special tokens.
    /// </summary>
    public static ChatEncoding Encode(ITokenizer tokenizer, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        int end = Special(tokenizer, SpecialTokens.EndOfTurn);
        var ids = new List<int>();
        var mask = new List<bool>();
        void Add(IEnumerable<int> tokens, bool learn)
        {
            foreach (var id in tokens)
            {
                ids.Add(id);
                mask.Add(learn);
            }
        }
        foreach (var message in messages)
        {
            bool assistant = message.Role == "assistant";
            Add([Special(tokenizer, RoleToken(message.Role))], false);
            Add(tokenizer.Encode(message.Content, allowSpecial: false), assistant);
            Add([end], assistant);
        }
        if (addGenerationPrompt) Add([Special(tokenizer, SpecialTokens.Assistant)], false);
        return new ChatEncoding([.. ids], [.. mask]);
    }

    static string RoleToken(string role) => RoleTokens.TryGetValue(role, out var token) ? token
        : throw new UserError($"Chat role '{role}' is unknown; use system, user or assistant.");

    static int Special(ITokenizer tokenizer, string token) => tokenizer.SpecialTokenId(token)
        ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {token} token; chat needs a tokenizer trained with 'gpt4sharp tokenizer train'.");
}
