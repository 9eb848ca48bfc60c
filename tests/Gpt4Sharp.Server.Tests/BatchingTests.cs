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

    [Fact]
    public async Task Rows_that_leave_at_different_steps_and_rows_moved_into_their_slots_answer_as_they_do_alone()
    {
        // Seeded requests of many lengths end at different steps, so later rows are moved into
        // earlier slots again and again; half of them continue a conversation from the kept cache.
        var first = Enumerable.Range(0, 6).Select(i => User($"conversation {i} starts here")).ToList();
        var firstAnswers = await Task.WhenAll(first.Select((m, i) => Chat(m, 4 + i, 1.0, seed: i)));
        var prompts = new List<JsonArray>();
        for (int i = 0; i < 6; i++)
        {
            var next = (JsonArray)first[i].DeepClone();
            next.Add(new JsonObject { ["role"] = "assistant", ["content"] = Answer(firstAnswers[i]) });
            next.Add(new JsonObject { ["role"] = "user", ["content"] = $"and then {i}" });
            prompts.Add(next);
            prompts.Add(User(new string((char)('k' + i), 2 + 5 * i)));
        }
        var lengths = prompts.Select((_, i) => 2 + 5 * i % 29).ToList();
        var alone = new List<JsonNode>();
        for (int i = 0; i < prompts.Count; i++) alone.Add(await Chat(prompts[i], lengths[i], 1.0, seed: 100 + i));

        var engine = fixture.Server.Engine;
        long steps = engine.Steps, rows = engine.StepRows;
        var together = await Task.WhenAll(prompts.Select((m, i) => Chat(m, lengths[i], 1.0, seed: 100 + i)));
        Assert.True(engine.StepRows - rows > 2 * (engine.Steps - steps), "the requests did not decode together");
        Assert.Contains(together, a => a["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>() > 5);
        Assert.True(together.Select(a => a["usage"]!["completion_tokens"]!.GetValue<int>()).Distinct().Count() > 4, "the rows did not end at different steps");
        for (int i = 0; i < prompts.Count; i++) Assert.Equal(Answer(alone[i]), Answer(together[i]));
    }
}
