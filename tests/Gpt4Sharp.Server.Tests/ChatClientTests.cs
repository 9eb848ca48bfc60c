using System.ClientModel;
using System.Text;
using Gpt4Sharp.Model;
using Microsoft.Extensions.AI;
using OpenAI;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Gpt4Sharp.Server.Tests;

/// <summary>The in-process IChatClient, and Microsoft.Extensions.AI's OpenAI client against the running server.</summary>
[Collection("Server")]
public sealed class ChatClientTests(ServerFixture fixture)
{
    static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 10 };

    [Fact]
    public async Task In_process_client_streams_what_it_answers_and_reuses_the_conversation_cache()
    {
        // A model of its own (same seed, so the same weights as the server's) on an engine of its own.
        using var model = new GptModel(ServerFixture.Config, seed: 5);
        using IChatClient client = new Gpt4SharpChatClient(model, fixture.Tokenizer, modelId: "tiny");
        List<AiMessage> history = [new(ChatRole.User, "Hello there")];

        ChatResponse first = await client.GetResponseAsync(history, Greedy);
        var streamed = new StringBuilder();
        UsageDetails? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.GetStreamingResponseAsync(history, Greedy))
        {
            streamed.Append(update.Text);
            usage ??= update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
            finish ??= update.FinishReason;
        }
        Assert.Equal(first.Text, streamed.ToString());
        Assert.Equal(first.Usage!.TotalTokenCount, usage!.TotalTokenCount);
        Assert.Equal(first.FinishReason, finish);
        Assert.Equal(ChatRole.Assistant, first.Messages[0].Role);
        Assert.True(usage.CachedInputTokenCount >= first.Usage.InputTokenCount - 1); // the same prompt again: all but its last token cached
        Assert.True(first.Usage.AdditionalCounts!["cost_micro_usd"] > 0);

        history.AddRange(first.Messages);
        history.Add(new AiMessage(ChatRole.User, "And then?"));
        ChatResponse second = await client.GetResponseAsync(history, Greedy);
        Assert.True(second.Usage!.CachedInputTokenCount >= first.Usage.InputTokenCount);
        Assert.Equal("tiny", client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task In_process_client_and_the_openai_extension_client_over_http_give_the_same_answer()
    {
        using IChatClient local = new Gpt4SharpChatClient(fixture.Server.Engine, "tiny");
        IChatClient remote = new OpenAI.Chat.ChatClient(ServerFixture.ModelName, new ApiKeyCredential(ServerFixture.Key), new OpenAIClientOptions { Endpoint = fixture.V1 }).AsIChatClient();
        List<AiMessage> conversation = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "What is a cat?")];

        var here = await local.GetResponseAsync(conversation, Greedy);
        var there = await remote.GetResponseAsync(conversation, Greedy);
        Assert.Equal(here.Text, there.Text);
        Assert.Equal(here.Usage!.InputTokenCount, there.Usage!.InputTokenCount);
        Assert.Equal(here.Usage.OutputTokenCount, there.Usage.OutputTokenCount);
        Assert.True(there.Usage.CachedInputTokenCount > 0); // the server saw this prompt a moment ago through the in-process client

        var streamed = new StringBuilder();
        await foreach (var update in remote.GetStreamingResponseAsync(conversation, Greedy)) streamed.Append(update.Text);
        Assert.Equal(here.Text, streamed.ToString());
    }

    [Fact]
    public async Task Bad_input_through_the_interface_is_one_clear_error()
    {
        using IChatClient client = new Gpt4SharpChatClient(fixture.Server.Engine, "tiny");
        var image = new AiMessage(ChatRole.User, [new DataContent(VisionServerTests.Png(SkiaSharp.SKColors.Red), "image/png"), new TextContent("What is it?")]);
        Assert.Contains("reads no images", (await Assert.ThrowsAsync<UserError>(() => client.GetResponseAsync([image]))).Message);
        var tooLong = new AiMessage(ChatRole.User, new string('x', 500));
        Assert.Contains("context", (await Assert.ThrowsAsync<UserError>(() => client.GetResponseAsync([tooLong]))).Message);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync([new AiMessage(ChatRole.User, "hi")], Greedy, cancelled.Token));
    }
}
