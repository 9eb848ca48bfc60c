namespace Gpt4Sharp;

/// <summary>
/// A failure caused by the user's input or environment, carrying one sentence that says
/// what is wrong and how to fix it. The CLI and server print the message alone, never a
/// stack trace; anything else that escapes is a bug.
/// </summary>
public sealed class UserError(string message, Exception? inner = null) : Exception(message, inner);
