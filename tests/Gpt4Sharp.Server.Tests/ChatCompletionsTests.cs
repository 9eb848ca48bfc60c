using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gpt4Sharp.Generation;
using OpenAI;
using OpenAI.Chat;

namespace Gpt4Sharp.Server.Tests;

[Collection("Server")]
public sealed class ChatCompletionsTests(ServerFixture fixture)
{
    ChatClient Client() => new(ServerFixture.ModelName, new ApiKeyCredential(ServerFixture.Key), new OpenAIClientOptions { Endpoint = fixture.V1 });

    static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task Official_client_gets_a_greedy_completion_with_usage_matching_the_generator()
    {
        OpenAI.Chat.ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Hello")];
        ChatCompletion completion = await Client().CompleteChatAsync(messages, Greedy(12));

        // The same prompt through the chat template and the generator directly must give the same text.
        var prompt = Text.ChatTemplate.Encode(fixture.Tokenizer, [new Gpt4Sharp.ChatMessage("system", "Be brief."), new Gpt4Sharp.ChatMessage("user", "Hello")], addGenerationPrompt: true).Ids;
        var expected = new StringBuilder();
        int expectedTokens = 0;
        await foreach (var token in new TextGenerator(fixture.Model, fixture.Tokenizer).StreamAsync(prompt, SamplingOptions.Greedy(12) with { StopTokens = [.. Text.SpecialTokens.All.Select(t => fixture.Tokenizer.SpecialTokenId(t)!.Value)] }))
        {
            if (token.Id >= 0) expectedTokens++;
            expected.Append(token.Text);
        }

        Assert.Equal(expected.ToString(), completion.Content.Count == 0 ? "" : completion.Content[0].Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(prompt.Length, completion.Usage.InputTokenCount);
        Assert.Equal(expectedTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(prompt.Length + expectedTokens, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Streaming_yields_the_same_text_as_the_non_streaming_call_and_ends_with_usage()
    {
        var client = Client();
        OpenAI.Chat.ChatMessage[] messages = [new UserChatMessage("Tell me a story")];
        ChatCompletion whole = await client.CompleteChatAsync(messages, Greedy(20));

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, Greedy(20)))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal(whole.Content.Count == 0 ? "" : whole.Content[0].Text, streamed.ToString());
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.TotalTokenCount, usage!.TotalTokenCount);
        Assert.Equal(whole.FinishReason, finish);
    }

    [Fact]
    public async Task Raw_stream_is_server_sent_events_ending_in_done()
    {
        var body = """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0,"stream":true}""";
        var response = await fixture.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var usage = JsonNode.Parse(events[^2]["data: ".Length..])!["usage"]!;
        Assert.True(usage["cost_usd"]!.GetValue<decimal>() > 0);
    }

    [Fact]
    public async Task A_client_leaving_mid_stream_does_not_stop_the_server()
    {
        var body = """{"model":"tiny","messages":[{"role":"user","content":"go"}],"max_tokens":80,"temperature":1,"stream":true}""";
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") })
        using (var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());
        } // disconnect after the first event

        ChatCompletion after = await Client().CompleteChatAsync([new UserChatMessage("still there?")], Greedy(4));
        Assert.True(after.Usage.TotalTokenCount > 0);
    }

    [Fact]
    public async Task N_choices_are_sampled_with_a_seed_and_carry_usage_and_cost()
    {
        async Task<JsonNode> Ask(int seed)
        {
            var body = $$"""{"model":"tiny","messages":[{"role":"user","content":"abc"}],"max_tokens":6,"n":3,"seed":{{seed}},"temperature":1.0,"top_p":0.9,"stop":["zz"]}""";
            var response = await fixture.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }
        var first = await Ask(7);
        var again = await Ask(7);
        Assert.Equal(3, first["choices"]!.AsArray().Count);
        Assert.Equal(first["choices"]!.ToJsonString(), again["choices"]!.ToJsonString());
        var usage = first["usage"]!;
        int prompt = usage["prompt_tokens"]!.GetValue<int>(), completion = usage["completion_tokens"]!.GetValue<int>();
        Assert.InRange(completion, 0, 18);
        Assert.Equal(prompt + completion, usage["total_tokens"]!.GetValue<int>());
        Assert.Equal(Chat.PriceTable.Gpt4.Cost(ServerFixture.Config.ContextLength, prompt, completion), usage["cost_usd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Models_and_health_answer()
    {
        var models = JsonNode.Parse(await fixture.Http.GetStringAsync("/v1/models"))!;
        Assert.Equal("tiny", models["data"]![0]!["id"]!.GetValue<string>());
        var health = JsonNode.Parse(await new HttpClient().GetStringAsync(new Uri(fixture.Server.Address, "/health")))!;
        Assert.Equal("ok", health["status"]!.GetValue<string>());
    }
}
