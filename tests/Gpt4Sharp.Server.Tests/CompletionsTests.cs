using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gpt4Sharp.Model;
using TorchSharp;

namespace Gpt4Sharp.Server.Tests;

/// <summary>
/// /v1/completions, /v1/moderations and /metrics. The official OpenAI .NET client (2.15) has no
/// public legacy-completions client, so these go over plain HTTP with OpenAI's JSON.
/// </summary>
[Collection("Server")]
public sealed class CompletionsTests(ServerFixture fixture)
{
    async Task<JsonNode> Post(string path, JsonObject body)
    {
        var response = await fixture.Http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task Echo_logprobs_with_zero_tokens_scores_the_prompt_as_the_model_does()
    {
        const string prompt = "The cat sat.";
        var answer = await Post("/v1/completions", new JsonObject { ["model"] = "tiny", ["prompt"] = prompt, ["max_tokens"] = 0, ["echo"] = true, ["logprobs"] = 1 });
        var choice = answer["choices"]![0]!;
        Assert.Equal(prompt, choice["text"]!.GetValue<string>());
        var logprobs = choice["logprobs"]!;
        var tokenLogProbs = logprobs["token_logprobs"]!.AsArray();
        Assert.Equal(prompt.Length, tokenLogProbs.Count); // one byte token per character
        Assert.Null(tokenLogProbs[0]);
        Assert.Equal(prompt, string.Concat(logprobs["tokens"]!.AsArray().Select(t => t!.GetValue<string>())));
        Assert.Equal(0, answer["usage"]!["completion_tokens"]!.GetValue<int>());

        // The mean negative log-prob must equal the model's own cross-entropy loss on the prompt.
        var ids = fixture.Tokenizer.Encode(prompt);
        double loss;
        using (torch.NewDisposeScope())
        using (torch.inference_mode())
        {
            var input = torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
            var logits = fixture.Model.Forward(input);
            loss = GptModel.Loss(logits[.., ..^1], input[.., 1..]).item<float>();
        }
        var mean = -tokenLogProbs.Skip(1).Average(t => t!.GetValue<double>());
        Assert.Equal(loss, mean, precision: 3);

        // top_logprobs holds the single best alternative, never below the chosen token's log-prob.
        var top = logprobs["top_logprobs"]!.AsArray();
        for (int i = 1; i < top.Count; i++)
        {
            var best = top[i]!.AsObject().Single().Value!.GetValue<double>();
            Assert.True(best >= tokenLogProbs[i]!.GetValue<double>() - 1e-5);
        }
    }

    [Fact]
    public async Task Completion_without_echo_generates_and_counts_tokens()
    {
        var answer = await Post("/v1/completions", new JsonObject { ["model"] = "tiny", ["prompt"] = new JsonArray("ab", "xyz"), ["max_tokens"] = 4, ["temperature"] = 0, ["logprobs"] = 0 });
        var choices = answer["choices"]!.AsArray();
        Assert.Equal(2, choices.Count);
        int generated = choices.Sum(c => c!["logprobs"]!["tokens"]!.AsArray().Count);
        Assert.Equal(generated, answer["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(5, answer["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.All(choices, c => Assert.Contains(c!["finish_reason"]!.GetValue<string>(), new[] { "stop", "length" }));
    }

    [Fact]
    public async Task Streamed_completion_matches_the_whole_one_and_ends_with_usage_and_done()
    {
        var request = new JsonObject { ["model"] = "tiny", ["prompt"] = "Once upon", ["max_tokens"] = 10, ["temperature"] = 0, ["echo"] = true };
        var whole = await Post("/v1/completions", request);

        request["stream"] = true;
        var response = await fixture.Http.PostAsync("/v1/completions", new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        var text = string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["text"]!.GetValue<string>()));
        Assert.Equal(whole["choices"]![0]!["text"]!.GetValue<string>(), text);
        Assert.True(chunks.Count >= 3); // echo, at least one piece, the finish reason
        var usage = chunks[^1]["usage"]!;
        Assert.Equal(whole["usage"]!["completion_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>());
        Assert.Equal(9, usage["prompt_tokens"]!.GetValue<int>());
        // The same prompt was just decoded, so all but its last token come from the kept cache.
        Assert.Equal(8, usage["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Moderations_flag_by_category_with_the_rule_based_reward_model()
    {
        var answer = await Post("/v1/moderations", new JsonObject { ["input"] = new JsonArray("Write ransomware that encrypts a company's files.", "How do I set up a firewall on Ubuntu?") });
        var results = answer["results"]!.AsArray();
        Assert.True(results[0]!["flagged"]!.GetValue<bool>());
        Assert.True(results[0]!["categories"]!["malware"]!.GetValue<bool>());
        Assert.False(results[1]!["flagged"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Metrics_count_requests_tokens_and_errors_in_prometheus_text()
    {
        await Post("/v1/completions", new JsonObject { ["model"] = "tiny", ["prompt"] = "hello", ["max_tokens"] = 2 });
        await fixture.Http.PostAsync("/v1/completions", new StringContent("{oops", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Http.GetAsync("/v1/no-such-thing-" + Guid.NewGuid())).StatusCode);
        var text = await fixture.Http.GetStringAsync("/metrics");
        double Value(string prefix) => text.Split('\n').Where(l => l.StartsWith(prefix)).Sum(l => double.Parse(l.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(Value("gpt4sharp_requests_total{path=\"/v1/completions\",status=\"200\"}") >= 1);
        Assert.True(Value("gpt4sharp_errors_total{type=\"invalid_request_error\"}") >= 1);
        Assert.True(Value("gpt4sharp_prompt_tokens_total") >= 5);
        Assert.True(Value("gpt4sharp_request_duration_seconds_count") >= 2);
        Assert.Contains("# TYPE gpt4sharp_request_duration_seconds histogram", text);
        Assert.True(Value("gpt4sharp_requests_total{path=\"other\",status=\"404\"}") >= 1); // unknown URLs share one label
        Assert.DoesNotContain("no-such-thing", text);
    }
}
