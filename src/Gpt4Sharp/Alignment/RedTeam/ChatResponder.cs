using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Alignment.RedTeam;

/// <summary>Produces the assistant's next reply to a conversation (a model, or a fixed function in tests).</summary>
public delegate string ChatResponder(IReadOnlyList<ChatMessage> conversation);

public static class ChatResponders
{
    /// <summary>
    /// Greedy replies of a chat model in the shared chat template, ending at &lt;|end|&gt;.
    /// A conversation longer than the model's context is a <see cref="UserError"/> from the generator.
    /// </summary>
    public static ChatResponder Greedy(ModelBundle bundle, int maxNewTokens = 96)
    {
        var generator = new TextGenerator(bundle.Model, bundle.Tokenizer, bundle.DecodeWeights);
        var end = bundle.Tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
            ?? throw new UserError($"The tokenizer of {bundle.Directory} has no {SpecialTokens.EndOfTurn} token, so the model is not a chat model; fine-tune it with `gpt4sharp sft` first.");
        var options = SamplingOptions.Greedy(maxNewTokens) with { StopTokens = [end] };
        return conversation =>
        {
            var ids = ChatTemplate.Encode(bundle.Tokenizer, conversation, addGenerationPrompt: true).Ids;
            int context = bundle.Model.Config.ContextLength;
            if (ids.Length >= context)
                throw new UserError($"A conversation of {ids.Length} tokens does not fit the model's context of {context}; evaluate a model with a longer context (red-team and passage prompts need up to about 250 tokens).");
            return string.Concat(generator.StreamAsync(ids, options).ToBlockingEnumerable().Select(t => t.Text)).Trim();
        };
    }

    /// <summary>A one-turn conversation.</summary>
    public static IReadOnlyList<ChatMessage> User(string prompt) => [new ChatMessage("user", prompt)];
}
