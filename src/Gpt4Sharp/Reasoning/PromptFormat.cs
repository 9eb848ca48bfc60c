using System.Text;
using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Reasoning;

/// <summary>How a question is put to the model.</summary>
public enum PromptFormat
{
    /// <summary>The question and an instruction to give only the final answer.</summary>
    ZeroShot,
    /// <summary>k solved exemplars with direct answers, then the question as in <see cref="ZeroShot"/>.</summary>
    FewShot,
    /// <summary>The question followed by "Let's think step by step." (Kojima et al. 2022).</summary>
    ZeroShotCot,
    /// <summary>k exemplars with worked reasoning (Wei et al. 2022), then the question as in <see cref="ZeroShotCot"/>.</summary>
    FewShotCot,
}

/// <summary>A solved example shown in a few-shot prompt: the question and the reply it should get.</summary>
public sealed record Exemplar(string Question, string Reasoning, string Answer)
{
    /// <summary>The exemplar's reply in a format: the worked reasoning for chain of thought, else the answer line alone.</summary>
    public string Reply(bool chainOfThought) => chainOfThought ? ReasoningPrompts.PathReply(Reasoning, Answer) : ReasoningPrompts.DirectReply(Answer);
}

/// <summary>
/// Renders a question in a <see cref="PromptFormat"/> as the user message of a chat (the model
/// replies in the assistant turn, in the shared chat template). Every reply format ends with the
/// curriculum's "answer: X" line, which <see cref="AnswerExtraction"/> reads back.
/// </summary>
public static class ReasoningPrompts
{
    public const string DirectInstruction = "Give only the final answer.";
    public const string StepByStep = "Let's think step by step.";

    public static bool IsChainOfThought(this PromptFormat format) => format is PromptFormat.ZeroShotCot or PromptFormat.FewShotCot;
    public static bool IsFewShot(this PromptFormat format) => format is PromptFormat.FewShot or PromptFormat.FewShotCot;

    /// <summary>Parses "zero-shot", "few-shot", "zero-shot-cot", "few-shot-cot" (case and dashes ignored).</summary>
    public static PromptFormat Parse(string name) => name.Replace("-", "").Replace("_", "").ToLowerInvariant() switch
    {
        "zeroshot" or "direct" => PromptFormat.ZeroShot,
        "fewshot" => PromptFormat.FewShot,
        "zeroshotcot" or "cot" => PromptFormat.ZeroShotCot,
        "fewshotcot" => PromptFormat.FewShotCot,
        _ => throw new UserError($"Prompt format '{name}' is unknown; use zero-shot, few-shot, zero-shot-cot or few-shot-cot."),
    };

    public static string Name(this PromptFormat format) => format switch
    {
        PromptFormat.ZeroShot => "zero-shot",
        PromptFormat.FewShot => "few-shot",
        PromptFormat.ZeroShotCot => "zero-shot-cot",
        _ => "few-shot-cot",
    };

    /// <summary>The user message for <paramref name="question"/>; few-shot formats need at least one exemplar.</summary>
    public static string UserMessage(PromptFormat format, string question, IReadOnlyList<Exemplar>? exemplars = null)
    {
        var sb = new StringBuilder();
        if (format.IsFewShot())
        {
            if (exemplars is not { Count: > 0 }) throw new UserError($"The {format.Name()} format needs at least one exemplar; pass --shots 1 or more.");
            foreach (var e in exemplars)
                sb.Append("Q: ").Append(e.Question).Append("\nA: ").Append(e.Reply(format.IsChainOfThought())).Append("\n\n");
            sb.Append("Q: ");
        }
        sb.Append(question).Append('\n').Append(format.IsChainOfThought() ? StepByStep : DirectInstruction);
        return sb.ToString();
    }

    /// <summary>The chat to send: an optional system turn and the rendered user message.</summary>
    public static IReadOnlyList<ChatMessage> Messages(PromptFormat format, string question, IReadOnlyList<Exemplar>? exemplars = null, string? systemPrompt = null)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(systemPrompt)) messages.Add(new ChatMessage("system", systemPrompt));
        messages.Add(new ChatMessage("user", UserMessage(format, question, exemplars)));
        return messages;
    }

    /// <summary>The reply a direct-answer format should get.</summary>
    public static string DirectReply(string answer) => $"answer: {answer}";

    /// <summary>A reasoning path followed by its answer line (the curriculum's reply shape).</summary>
    public static string PathReply(string reasoning, string answer) =>
        reasoning.Length == 0 ? DirectReply(answer) : $"{reasoning.TrimEnd()}\n{DirectReply(answer)}";

    /// <summary>The reasoning part of a sampled reply: everything before its first answer line.</summary>
    public static string ReasoningOf(string reply)
    {
        var lines = reply.Replace("\r", "").Split('\n');
        var kept = lines.TakeWhile(l => AnswerText.AnswerLines(l).Count == 0);
        return string.Join('\n', kept).Trim();
    }
}
