using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gpt4Sharp.Generation;

namespace Gpt4Sharp.Server.Tests;

/// <summary>Continuous batching and prefix KV reuse, seen from the HTTP API.</summary>
[Collection("Server")]
public sealed class BatchingTests(ServerFixture fixture)
{
    async Task<JsonNode> Chat(JsonArray messages, int maxTokens, double temperature, long seed)
    {
        var body = new JsonObject { ["model"] = "tiny", ["messages"] = messages.DeepClone(), ["max_tokens"] = maxTokens, ["temperature"] = temperature, ["seed"] = seed };
        var response = await fixture.Http.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    static JsonArray User(string text) => new(new JsonObject { ["role"] = "user", ["content"] = text });

    static string Answer(JsonNode response) => response["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public async Task A_seeded_request_gives_the_same_answer_alone_and_inside_a_batch(double temperature)
    {
        var alone = Answer(await Chat(User("The quick brown fox"), 24, temperature, seed: 11));

        var engine = fixture.Server.Engine;
        long steps = engine.Steps, rows = engine.StepRows;
        // Other requests of different lengths keep the batch busy while the same request runs among them.
        var others = Enumerable.Range(0, 6).Select(i => Chat(User(new string((char)('a' + i), 3 + 7 * i)), 30, 1.0, seed: i)).ToList();
        var again = Chat(User("The quick brown fox"), 24, temperature, seed: 11);
        await Task.WhenAll([.. others, again]);

        Assert.Equal(alone, Answer(await again));
        Assert.True(engine.StepRows - rows > engine.Steps - steps, "no decode step carried more than one sequence");
    }

    [Fact]
    public async Task The_next_turn_reuses_the_cached_conversation_and_answers_as_a_fresh_decode_would()
    {
        var messages = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = $"S{Guid.NewGuid():N}"[..9] },
            new JsonObject { ["role"] = "user", ["content"] = "first question" });
        var first = await Chat(messages, 8, 0, seed: 1);
        int firstPrompt = first["usage"]!["prompt_tokens"]!.GetValue<int>();
        Assert.True(first["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>() < 5); // at most the shared role tokens

        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = Answer(first) });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = "second question" });
        var second = await Chat(messages, 8, 0, seed: 1);
        int cached = second["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>();
        Assert.True(cached >= firstPrompt, $"only {cached} of the first turn's {firstPrompt} prompt tokens were reused");
        Assert.True(cached < second["usage"]!["prompt_tokens"]!.GetValue<int>());

        // The reused cache must not change the answer: decode the second prompt from scratch.
        var prompt = Text.ChatTemplate.Encode(fixture.Tokenizer, [.. messages.Select(m => new Gpt4Sharp.ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>()))], addGenerationPrompt: true).Ids;
        var stops = Text.SpecialTokens.All.Select(t => fixture.Tokenizer.SpecialTokenId(t)!.Value).ToArray();
        var (text, _, _) = await new TextGenerator(fixture.Model, fixture.Tokenizer).GenerateAsync(fixture.Tokenizer.Decode(prompt), SamplingOptions.Greedy(8) with { StopTokens = stops });
        Assert.Equal(text, Answer(second));
    }
}
