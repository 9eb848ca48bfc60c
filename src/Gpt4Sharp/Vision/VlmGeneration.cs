using Gpt4Sharp.Text;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>Greedy batch-1 decoding for multimodal prompts: the prompt (with image spans) is prefilled as embeddings into a KV cache, then one token at a time.</summary>
public static class VlmGeneration
{
    /// <summary>The assistant reply to a chat ending in a generation prompt, up to <c>&lt;|end|&gt;</c> or <paramref name="maxTokens"/>.</summary>
    public static string Reply(VisionLanguageModel model, ImageSpanEncoder encoder, ITokenizer tokenizer, MultimodalEncoding prompt, int maxTokens = 80)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var decoder = model.Decoder;
        // <|end|> closes the reply; any other special token (an image span, a role) ends it too, as text cannot contain them.
        var stop = SpecialTokens.All.Select(tokenizer.SpecialTokenId).OfType<int>().ToHashSet();
        int room = decoder.Config.ContextLength - prompt.Ids.Length;
        if (room < 1) throw new UserError($"The prompt takes {prompt.Ids.Length} tokens, more than the model's context of {decoder.Config.ContextLength}; shorten it or use fewer images.");
        using var cache = decoder.NewCache(1, decoder.Config.ContextLength);
        var logits = decoder.ForwardEmbeddings(encoder.Embed(prompt.Ids, prompt.Images), cache);
        var output = new List<int>();
        for (int i = 0; i < Math.Min(maxTokens, room); i++)
        {
            int next = (int)logits[0, -1].argmax().item<long>();
            if (stop.Contains(next)) break;
            output.Add(next);
            if (i + 1 == Math.Min(maxTokens, room)) break;
            logits = decoder.Forward(tensor(new long[] { next }, [1, 1], device: decoder.Device), cache);
        }
        return tokenizer.Decode(output);
    }

    /// <summary>Asks one question about pictures, directly or with the two-stage chain of thought; returns (rationale or null, answer).</summary>
    public static (string? Rationale, string Answer) Ask(VisionLanguageModel model, ImageSpanEncoder encoder, ITokenizer tokenizer,
        IReadOnlyList<Tensor> images, string question, bool twoStage, int maxTokens = 80)
    {
        MultimodalEncoding Prompt(string text) =>
            MultimodalChat.Encode(tokenizer, [new MultimodalMessage("user", text, images)], encoder.TokensPerImage, addGenerationPrompt: true);
        if (!twoStage) return (null, Reply(model, encoder, tokenizer, Prompt(VlmTasks.UserText(VlmTask.Answer, question)), maxTokens));
        var rationale = Reply(model, encoder, tokenizer, Prompt(VlmTasks.UserText(VlmTask.Rationale, question)), maxTokens).Trim();
        // A rambling stage-1 rationale is cut so that stage 2 still has room to answer.
        int room = model.Decoder.Config.ContextLength - Prompt(VlmTasks.UserText(VlmTask.AnswerFromRationale, question, "")).Ids.Length - Math.Min(maxTokens, 16);
        var rationaleIds = tokenizer.Encode(rationale);
        if (rationaleIds.Length > Math.Max(0, room)) rationale = tokenizer.Decode(rationaleIds.Take(Math.Max(0, room)));
        var answer = Reply(model, encoder, tokenizer, Prompt(VlmTasks.UserText(VlmTask.AnswerFromRationale, question, rationale)), maxTokens);
        return (rationale, answer);
    }
}
