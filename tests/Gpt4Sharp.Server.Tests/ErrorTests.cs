using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Gpt4Sharp.Server.Tests;

[Collection("Server")]
public sealed class ErrorTests(ServerFixture fixture)
{
    const string Valid = """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0}""";

    async Task<(HttpStatusCode Status, JsonNode? Error)> Post(string body, string path = "/v1/chat/completions", string? key = ServerFixture.Key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.Address, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? null : JsonNode.Parse(text)!["error"]);
    }

    async Task AssertStillServing()
    {
        var (status, _) = await Post(Valid);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Theory]
    [InlineData("{not json", 400, null, "invalid_json")]
    [InlineData("[1,2]", 400, null, "invalid_json")]
    [InlineData("""{"model":"tiny","messages":"hi"}""", 400, "messages", "invalid_type")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", 400, "temperature", "invalid_type")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2.5}""", 400, "max_tokens", "invalid_type")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":-1}""", 400, "max_tokens", null)]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":100000000000}""", 400, "max_tokens", null)]
    [InlineData("""{"model":"tiny","messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages[0].role", null)]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"hi"}],"stop":[1]}""", 400, "stop", "invalid_type")]
    [InlineData("""{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "model_not_found")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", 400, "model", "missing_required_parameter")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}""", 400, "messages[0].content[0]", "image_not_supported")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":[{"type":"audio","audio":"x"}]}]}""", 400, "messages[0].content[0].type", null)]
    [InlineData("""{"model":"tiny","prompt":"hi","stream":true,"logprobs":1}""", 400, "logprobs", null, "/v1/completions")]
    public async Task Bad_requests_get_openai_shaped_errors_and_the_server_keeps_serving(string body, int status, string? param, string? code, string path = "/v1/chat/completions")
    {
        var (actual, error) = await Post(body, path);
        Assert.Equal(status, (int)actual);
        Assert.False(string.IsNullOrWhiteSpace(error!["message"]!.GetValue<string>()));
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        if (code is not null) Assert.Equal(code, error["code"]?.GetValue<string>());
        await AssertStillServing();
    }

    [Fact]
    public async Task Prompt_longer_than_the_context_is_context_length_exceeded()
    {
        var body = new JsonObject { ["model"] = "tiny", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new string('x', 200) }) };
        var (status, error) = await Post(body.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("context_length_exceeded", error!["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Missing_or_wrong_key_is_401(string? key)
    {
        var (status, error) = await Post(Valid, key: key);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_api_key", error!["code"]!.GetValue<string>());
        await AssertStillServing();
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        var body = $$"""{"model":"tiny","messages":[{"role":"user","content":"{{new string('a', 100 * 1024)}}"}]}""";
        var (status, error) = await Post(body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", error!["code"]!.GetValue<string>());
        await AssertStillServing();
    }

    /// <summary>
    /// 3,000 random and mutated bodies against every POST endpoint (loopback only, seeded):
    /// each must get a well-formed answer — 200, or an OpenAI-shaped 4xx, never a 5xx — and the
    /// server must still answer /health and a valid request afterwards.
    /// </summary>
    [Fact]
    public async Task Fuzzed_bodies_never_break_the_server()
    {
        var rng = new Random(2024);
        string[] seeds =
        [
            Valid,
            """{"model":"tiny","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"x"}]}],"n":2,"stop":"a","seed":3,"top_p":0.5,"max_tokens":2}""",
            """{"model":"tiny","prompt":["ab","c"],"max_tokens":0,"echo":true,"logprobs":2}""",
            """{"model":"tiny","input":["hello","world"]}""",
        ];
        string[] paths = ["/v1/chat/completions", "/v1/completions", "/v1/moderations"];
        string[] fragments = ["{", "}", "[", "]", "\"", ":", ",", "null", "-1", "1e309", "true", "\"model\"", "\"max_tokens\"", "99999999999999999999", "\\u0000", "\"n\":0", "\"stream\":true", "{}", "[]"];
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.Key);

        int serverErrors = 0;
        for (int i = 0; i < 3000; i++)
        {
            var body = new StringBuilder(seeds[rng.Next(seeds.Length)]);
            for (int m = rng.Next(1, 4); m > 0; m--)
            {
                int at = rng.Next(body.Length + 1);
                switch (rng.Next(4))
                {
                    case 0 when body.Length > 0: body.Remove(Math.Min(at, body.Length - 1), Math.Min(rng.Next(1, 8), body.Length - Math.Min(at, body.Length - 1))); break;
                    case 1: body.Insert(at, fragments[rng.Next(fragments.Length)]); break;
                    case 2 when body.Length > 0: body[Math.Min(at, body.Length - 1)] = (char)rng.Next(32, 127); break;
                    default: body.Insert(at, (char)rng.Next(0, 0x3000)); break;
                }
            }
            var path = paths[rng.Next(paths.Length)];
            var response = await client.PostAsync(new Uri(fixture.Server.Address, path), new StringContent(body.ToString(), Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode >= 500) serverErrors++;
            else if (!response.IsSuccessStatusCode)
                Assert.NotNull(JsonNode.Parse(text)!["error"]!["message"]);
        }
        Assert.Equal(0, serverErrors);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri(fixture.Server.Address, "/health"))).StatusCode);
        await AssertStillServing();
    }
}
