namespace Gpt4Sharp;

/// <summary>
/// One chat turn; role is "system", "user" or "assistant". Shared by the curriculum (chat
/// data), the chat template, chat sessions and the server, so it lives at the root.
/// </summary>
public sealed record ChatMessage(string Role, string Content);
