using System.Runtime.CompilerServices;
using Gpt4Sharp.Chat;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
using Microsoft.Extensions.AI;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Gpt4Sharp.Server;

/// <summary>
/// A Gpt4Sharp model as a Microsoft.Extensions.AI <see cref="IChatClient"/>, in process, streaming
/// included. It lives in the server project rather than the library because it runs on the same
/// <see cref="InferenceEngine"/> as the HTTP API: calls from any number of threads share one
/// inference thread and its continuous batch, and a conversation that re-sends its history each
/// call (as IChatClient callers do) reuses the kept KV cache of its earlier turns. Give it the
/// engine of a running <see cref="OpenAiServer"/> to share the model with HTTP clients, or a
/// model to own an engine of its own. Text and image <see cref="DataContent"/> are read (pictures
/// need a vision-language model); usage carries cached input tokens and the cost.
/// </summary>
public sealed class Gpt4SharpChatClient : IChatClient
{
    readonly InferenceEngine engine;
    readonly bool ownsEngine;
    readonly ChatClientMetadata metadata;
    readonly int[] stopTokens;
    readonly PriceTable prices;

    /// <summary>Chats with <paramref name="model"/> on an engine of its own (disposed with the client).</summary>
    public Gpt4SharpChatClient(GptModel model, ITokenizer tokenizer, ImageSpanEncoder? images = null, string modelId = "gpt4sharp", EngineOptions? options = null, PriceTable? prices = null)
        : this(new InferenceEngine(model, tokenizer, images, options), modelId, prices) => ownsEngine = true;

    /// <summary>Chats through an existing engine, such as <see cref="OpenAiServer.Engine"/> (the engine stays the caller's).</summary>
    public Gpt4SharpChatClient(InferenceEngine engine, string modelId = "gpt4sharp", PriceTable? prices = null)
    {
        this.engine = engine;
        this.prices = prices ?? PriceTable.Gpt4;
        metadata = new ChatClientMetadata("gpt4sharp", defaultModelId: modelId);
        // Answers are plain text: any special token means the model has left its turn.
        stopTokens = [.. SpecialTokens.All.Select(engine.Tokenizer.SpecialTokenId).OfType<int>()];
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (job, id) = Submit(messages, options, cancellationToken);
        var result = (await job.Completion)[0];
        return new ChatResponse(new AiMessage(ChatRole.Assistant, result.Text) { MessageId = id })
        {
            ResponseId = id,
            ModelId = metadata.DefaultModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = Finish(result.Reason),
            Usage = Usage(job, result),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (job, id) = Submit(messages, options, cancellationToken);
        var choice = job.Choices[0];
        await foreach (var token in choice.Tokens.ReadAllAsync(cancellationToken))
            if (token.Text.Length > 0)
                yield return new ChatResponseUpdate(ChatRole.Assistant, token.Text) { ResponseId = id, MessageId = id, ModelId = metadata.DefaultModelId };
        var result = await choice.Completion;
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(job, result))])
        {
            ResponseId = id,
            MessageId = id,
            ModelId = metadata.DefaultModelId,
            FinishReason = Finish(result.Reason),
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? metadata
        : serviceType == typeof(InferenceEngine) ? engine
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        if (ownsEngine) engine.Dispose();
    }

    (GenerationJob Job, string Id) Submit(IEnumerable<AiMessage> messages, ChatOptions? options, CancellationToken cancel)
    {
        var prompt = ChatPrompt.Encode(engine.Tokenizer, engine.Images, Frame(messages, options?.Instructions));
        try
        {
            int room = engine.Model.Config.ContextLength - prompt.Ids.Length;
            var sampling = new SamplingOptions
            {
                MaxNewTokens = Math.Max(0, Math.Min(options?.MaxOutputTokens ?? room, room)),
                Temperature = options?.Temperature ?? 1.0,
                TopP = options?.TopP ?? 1.0,
                TopK = options?.TopK ?? 0,
                Seed = options?.Seed ?? 1234,
                Stop = [.. options?.StopSequences ?? []],
                StopTokens = stopTokens,
            };
            return (engine.Submit(prompt.Ids, prompt.Pictures, [sampling], cancel), $"chatcmpl-{Guid.NewGuid():N}");
        }
        catch
        {
            prompt.Dispose();
            throw;
        }
    }

    /// <summary>Roles and contents as the model reads them: text parts joined, image <see cref="DataContent"/> as pictures; other content cannot be read.</summary>
    static List<PromptMessage> Frame(IEnumerable<AiMessage> messages, string? instructions)
    {
        var framed = new List<PromptMessage>();
        if (!string.IsNullOrEmpty(instructions)) framed.Add(new PromptMessage("system", instructions));
        foreach (var message in messages)
        {
            var role = message.Role == ChatRole.System ? "system" : message.Role == ChatRole.User ? "user" : message.Role == ChatRole.Assistant ? "assistant"
                : throw new UserError($"The role '{message.Role}' is not supported; send system, user or assistant messages.");
            var images = new List<byte[]>();
            foreach (var content in message.Contents)
                switch (content)
                {
                    case TextContent or UsageContent or TextReasoningContent: break;
                    case DataContent data when data.HasTopLevelMediaType("image"): images.Add(data.Data.ToArray()); break;
                    default: throw new UserError($"Content of type {content.GetType().Name} cannot be read by this model; send text and image DataContent.");
                }
            framed.Add(new PromptMessage(role, message.Text, images));
        }
        if (framed.Count == 0) throw new UserError("The conversation is empty; send at least one message.");
        return framed;
    }

    static ChatFinishReason Finish(FinishReason reason) => reason == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

    UsageDetails Usage(GenerationJob job, ChoiceResult result) => new()
    {
        InputTokenCount = job.PromptTokens,
        OutputTokenCount = result.Tokens.Length,
        TotalTokenCount = job.PromptTokens + result.Tokens.Length,
        CachedInputTokenCount = job.CachedTokens,
        AdditionalCounts = new AdditionalPropertiesDictionary<long>
        {
            // Micro-dollars, since the counts are integers.
            ["cost_micro_usd"] = (long)Math.Round(prices.Cost(engine.Model.Config.ContextLength, job.PromptTokens, result.Tokens.Length) * 1_000_000m),
        },
    };
}
