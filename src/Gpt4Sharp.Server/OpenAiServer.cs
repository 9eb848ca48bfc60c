using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gpt4Sharp.Server;

/// <summary>
/// An OpenAI-compatible HTTP server for one model: /health, /metrics, /v1/models,
/// /v1/chat/completions (with server-sent-event streaming), /v1/completions and
/// /v1/moderations. Request threads parse and validate; all model code runs on the
/// <see cref="InferenceWorker"/> thread.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly GptModel _model;
    readonly ITokenizer _tokenizer;
    readonly ServerOptions _options;
    readonly RuleBasedRewardModel _moderator = RuleBasedRewardModel.Load();
    readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    readonly int[] _stopTokens;

    public InferenceWorker Worker { get; } = new();
    public ServerMetrics Metrics { get; }
    /// <summary>The bound address, such as http://127.0.0.1:41234 (known after start).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    OpenAiServer(GptModel model, ITokenizer tokenizer, ServerOptions options)
    {
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        _stopTokens = new[] { SpecialTokens.EndOfTurn, SpecialTokens.EndOfText }.Select(tokenizer.SpecialTokenId).OfType<int>().ToArray();
        Metrics = new ServerMetrics(() => Worker.QueueLength);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Gpt4Sharp.Server", Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.Listen(ParseHost(options.Host), options.Port);
        });
        _app = builder.Build();
        _app.Use(Pipeline);
        _app.MapGet("/health", () => Results.Json(new { status = "ok", model = _options.ModelName }));
        _app.MapGet("/metrics", async (HttpContext http) =>
        {
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await Metrics.WriteAsync(http.Response.Body, http.RequestAborted);
        });
        _app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(ModelJson()),
        }));
        _app.MapGet("/v1/models/{id}", (string id) => id == _options.ModelName ? Results.Json(ModelJson()) : throw UnknownModel(id));
        _app.MapPost("/v1/chat/completions", ChatCompletions);
        _app.MapPost("/v1/completions", Completions);
        _app.MapPost("/v1/moderations", Moderations);
        _app.MapFallback((HttpContext http) => throw new ApiError(404, $"There is no endpoint {http.Request.Method} {http.Request.Path}.", code: "unknown_url"));
    }

    /// <summary>Starts serving <paramref name="model"/>; dispose the result to stop.</summary>
    public static async Task<OpenAiServer> StartAsync(GptModel model, ITokenizer tokenizer, ServerOptions options, CancellationToken cancel = default)
    {
        var server = new OpenAiServer(model, tokenizer, options);
        try { await server._app.StartAsync(cancel); }
        catch (IOException e)
        {
            await server.DisposeAsync();
            throw new UserError($"Cannot listen on {options.Host}:{options.Port} ({e.Message}); pick another --port or --host.", e);
        }
        var bound = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(bound.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1"));
        return server;
    }

    public Task WaitForShutdownAsync(CancellationToken cancel) => _app.WaitForShutdownAsync(cancel);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Worker.Dispose();
    }

    static IPAddress ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var ip) ? ip
        : throw new UserError($"--host must be an IP address such as 127.0.0.1 or 0.0.0.0 (got '{host}').");

    JsonObject ModelJson() => new()
    {
        ["id"] = _options.ModelName,
        ["object"] = "model",
        ["created"] = _created,
        ["owned_by"] = "gpt4sharp",
        ["context_length"] = _model.Config.ContextLength,
    };

    ApiError UnknownModel(string name) =>
        new(404, $"The model '{name}' does not exist; this server serves '{_options.ModelName}'.", param: "model", code: "model_not_found");

    // ---- pipeline: auth, error shape, metrics ----

    const string FallbackPattern = "{*path:nonfile}";

    async Task Pipeline(HttpContext http, Func<Task> next)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            if (http.Request.Path.StartsWithSegments("/v1")) Authorize(http.Request);
            await next();
        }
        catch (ApiError e) { await WriteError(http, e); }
        catch (BadHttpRequestException e)
        {
            await WriteError(http, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? new ApiError(413, $"The request body is larger than {_options.MaxBodyBytes} bytes.", code: "request_too_large")
                : new ApiError(e.StatusCode, e.Message));
        }
        catch (UserError e) { await WriteError(http, ApiError.BadRequest(e.Message)); }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested) { } // the client left
        catch (Exception e)
        {
            _options.Log?.Invoke($"Internal error on {http.Request.Path}: {e}");
            await WriteError(http, new ApiError(500, "The server failed to answer this request.", type: "server_error"));
        }
        finally
        {
            // Only routed paths become label values, so arbitrary URLs cannot grow the metric set.
            var path = http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern } && pattern != FallbackPattern ? pattern : "other";
            Metrics.Request(path, http.Response.StatusCode, clock.Elapsed);
        }
    }

    void Authorize(HttpRequest request)
    {
        if (_options.ApiKeys.Count == 0) return;
        var header = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
            throw new ApiError(401, "No API key given; send 'Authorization: Bearer KEY'.", type: "invalid_request_error", code: "invalid_api_key");
        var key = header[bearer.Length..].Trim();
        if (!_options.ApiKeys.Contains(key))
            throw new ApiError(401, "The API key is not valid for this server.", type: "invalid_request_error", code: "invalid_api_key");
    }

    async Task WriteError(HttpContext http, ApiError error)
    {
        Metrics.Error(error.Type);
        if (http.Response.HasStarted) return; // a stream already under way reports its error in-band
        http.Response.Clear();
        http.Response.StatusCode = error.Status;
        await http.Response.WriteAsJsonAsync(error.ToJson(), http.RequestAborted);
    }

    async Task<RequestJson> ReadBody(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted); // Kestrel enforces MaxRequestBodySize (413)
        return RequestJson.Parse(buffer.ToArray());
    }

    void RequireModel(RequestJson body)
    {
        var name = body.RequiredString("model");
        if (name != _options.ModelName) throw UnknownModel(name);
    }

    /// <summary>Sampling fields shared by chat and completions; <paramref name="defaultMax"/> applies when max_tokens is absent.</summary>
    (SamplingOptions Options, int N) ReadSampling(RequestJson body, int promptTokens, int defaultMax, string promptParam)
    {
        int context = _model.Config.ContextLength;
        var maxName = body.Body.ContainsKey("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        long max = body.Integer(maxName) ?? Math.Max(0, defaultMax);
        if (max < 0 || max > context)
            throw ApiError.BadRequest($"'{maxName}' must be between 0 and the context length {context} (got {max}).", param: maxName);
        // Generating even one token needs a free position after the prompt.
        if (promptTokens > context || (promptTokens == context && max > 0))
            throw ApiError.BadRequest($"The prompt is {promptTokens} tokens but this model's context is {context} tokens; shorten the {promptParam}.", param: promptParam, code: "context_length_exceeded");

        double temperature = body.Number("temperature") ?? 1.0;
        if (temperature is < 0 or > 2) throw ApiError.BadRequest($"'temperature' must be between 0 and 2 (got {temperature}).", param: "temperature");
        double topP = body.Number("top_p") ?? 1.0;
        if (topP is <= 0 or > 1) throw ApiError.BadRequest($"'top_p' must be in (0, 1] (got {topP}).", param: "top_p");
        long n = body.Integer("n") ?? 1;
        if (n is < 1 or > 16) throw ApiError.BadRequest($"'n' must be between 1 and 16 (got {n}).", param: "n");
        var stop = body.StringOrArray("stop") ?? [];
        if (stop.Count > 4 || stop.Any(s => s.Length == 0))
            throw ApiError.BadRequest("'stop' takes at most 4 non-empty strings.", param: "stop");

        var options = new SamplingOptions
        {
            MaxNewTokens = (int)max,
            Temperature = temperature,
            TopP = topP,
            Stop = stop,
            StopTokens = _stopTokens,
            Seed = body.Integer("seed") ?? _options.DefaultSeed,
        };
        return (options, (int)n);
    }

    static string FinishReason(Generation.FinishReason reason) => reason == Generation.FinishReason.Stop ? "stop" : "length";

    JsonObject Usage(int prompt, int completion)
    {
        Metrics.Tokens(prompt, completion);
        return new JsonObject
        {
            ["prompt_tokens"] = prompt,
            ["completion_tokens"] = completion,
            ["total_tokens"] = prompt + completion,
            ["cost_usd"] = _options.Prices.Cost(_model.Config.ContextLength, prompt, completion),
        };
    }

    // ---- /v1/chat/completions ----

    async Task ChatCompletions(HttpContext http)
    {
        var body = await ReadBody(http);
        RequireModel(body);
        var messages = ReadMessages(body);
        var prompt = ChatTemplate.Encode(_tokenizer, messages, addGenerationPrompt: true).Ids;
        var (options, n) = ReadSampling(body, prompt.Length, defaultMax: _model.Config.ContextLength - prompt.Length, "messages");
        bool stream = body.Bool("stream", false);
        string id = $"chatcmpl-{Guid.NewGuid():N}";
        var abort = http.RequestAborted;

        if (stream && n == 1) { await StreamChat(http, id, prompt, options); return; }

        var choices = await Worker.RunAsync(async () =>
        {
            if (n == 1)
            {
                var generator = new TextGenerator(_model, _tokenizer);
                var text = new StringBuilder();
                int count = 0;
                await foreach (var token in generator.StreamAsync(prompt, options, abort))
                {
                    if (token.Id >= 0) count++;
                    text.Append(token.Text);
                }
                return (IReadOnlyList<(string Text, int Tokens, Generation.FinishReason Reason)>)[(text.ToString(), count, generator.LastFinishReason)];
            }
            return ParallelSampler.Sample(_model, _tokenizer, prompt, n, options, abort).Select(s => (s.Text, s.Tokens.Length, s.Reason)).ToList();
        });
        var usage = Usage(prompt.Length, choices.Sum(c => c.Tokens));

        if (stream)
        {
            // n > 1 is sampled as one batch, then each choice is sent as a single chunk.
            StartEventStream(http);
            for (int i = 0; i < choices.Count; i++)
                await SendEvent(http, ChatChunk(id, i, new JsonObject { ["role"] = "assistant", ["content"] = choices[i].Text }, FinishReason(choices[i].Reason)));
            await SendEvent(http, ChatChunk(id, null, null, null, usage));
            await SendDone(http);
            return;
        }

        var array = new JsonArray();
        for (int i = 0; i < choices.Count; i++)
            array.Add(new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = choices[i].Text },
                ["logprobs"] = null,
                ["finish_reason"] = FinishReason(choices[i].Reason),
            });
        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = _options.ModelName,
            ["choices"] = array,
            ["usage"] = usage,
        }, abort);
    }

    static List<ChatMessage> ReadMessages(RequestJson body)
    {
        var array = body.Array("messages") ?? throw ApiError.BadRequest("'messages' is required.", param: "messages", code: "missing_required_parameter");
        if (array.Count == 0) throw ApiError.BadRequest("'messages' must hold at least one message.", param: "messages");
        var messages = new List<ChatMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            string param = $"messages[{i}]";
            if (array[i] is not JsonObject item) throw ApiError.BadRequest($"'{param}' must be an object with 'role' and 'content'.", param: param);
            var message = new RequestJson(item);
            var role = message.RequiredString("role");
            if (role == "developer") role = "system"; // newer clients send system prompts as "developer"
            if (role is not ("system" or "user" or "assistant"))
                throw ApiError.BadRequest($"'{param}.role' must be system, user or assistant (got '{role}').", param: $"{param}.role");
            messages.Add(new ChatMessage(role, ReadContent(item, $"{param}.content")));
        }
        return messages;
    }

    /// <summary>Content is a string or an array of parts; only text parts are supported by this text-only endpoint.</summary>
    static string ReadContent(JsonObject message, string param)
    {
        switch (message["content"])
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return v.GetValue<string>();
            case JsonArray parts:
                var text = new StringBuilder();
                foreach (var part in parts)
                {
                    if (part is not JsonObject p || p["type"]?.GetValueKind() != JsonValueKind.String || p["type"]!.GetValue<string>() != "text"
                        || p["text"] is not JsonValue t || t.GetValueKind() != JsonValueKind.String)
                        throw ApiError.BadRequest($"'{param}' parts must be {{\"type\": \"text\", \"text\": ...}}; other part types are not supported.", param: param);
                    text.Append(t.GetValue<string>());
                }
                return text.ToString();
            default:
                throw ApiError.BadRequest($"'{param}' must be a string or an array of text parts.", param: param);
        }
    }

    async Task StreamChat(HttpContext http, string id, int[] prompt, SamplingOptions options)
    {
        var abort = http.RequestAborted;
        var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var job = Worker.RunAsync(async () =>
        {
            var generator = new TextGenerator(_model, _tokenizer);
            int count = 0;
            try
            {
                await foreach (var token in generator.StreamAsync(prompt, options, abort))
                {
                    if (token.Id >= 0) count++;
                    if (token.Text.Length > 0) pieces.Writer.TryWrite(token.Text);
                }
            }
            finally { pieces.Writer.TryComplete(); }
            return (Count: count, Reason: generator.LastFinishReason);
        });

        StartEventStream(http);
        await SendEvent(http, ChatChunk(id, 0, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        await foreach (var piece in pieces.Reader.ReadAllAsync(abort))
            await SendEvent(http, ChatChunk(id, 0, new JsonObject { ["content"] = piece }, null));
        (int Count, Generation.FinishReason Reason) result;
        try { result = await job; }
        catch (Exception e) when (e is UserError or ApiError)
        {
            await SendEvent(http, ApiError.BadRequest(e.Message).ToJson());
            await SendDone(http);
            return;
        }
        await SendEvent(http, ChatChunk(id, 0, new JsonObject(), FinishReason(result.Reason)));
        await SendEvent(http, ChatChunk(id, null, null, null, Usage(prompt.Length, result.Count)));
        await SendDone(http);
    }

    JsonObject ChatChunk(string id, int? index, JsonObject? delta, string? finish, JsonObject? usage = null) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = _options.ModelName,
        ["choices"] = index is { } i
            ? new JsonArray(new JsonObject { ["index"] = i, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish })
            : new JsonArray(),
        ["usage"] = usage,
    };

    static void StartEventStream(HttpContext http)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
    }

    static async Task SendEvent(HttpContext http, JsonObject data)
    {
        await http.Response.WriteAsync($"data: {data.ToJsonString()}\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    static async Task SendDone(HttpContext http)
    {
        await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    // ---- /v1/completions ----

    async Task Completions(HttpContext http)
    {
        var body = await ReadBody(http);
        RequireModel(body);
        var prompts = body.StringOrArray("prompt") ?? throw ApiError.BadRequest("'prompt' is required.", param: "prompt", code: "missing_required_parameter");
        if (prompts.Count is 0 or > 16) throw ApiError.BadRequest("'prompt' must hold between 1 and 16 strings.", param: "prompt");
        if (body.Bool("stream", false))
            throw ApiError.BadRequest("Streaming is not supported on /v1/completions yet; use /v1/chat/completions or leave 'stream' false.", param: "stream");
        bool echo = body.Bool("echo", false);
        long? logprobs = body.Integer("logprobs");
        if (logprobs is < 0 or > 5) throw ApiError.BadRequest($"'logprobs' must be between 0 and 5 (got {logprobs}).", param: "logprobs");

        var encoded = prompts.Select(p => _tokenizer.Encode(p, allowSpecial: true)).ToList();
        if (encoded.Any(e => e.Length == 0)) throw ApiError.BadRequest("Every prompt must hold at least one token.", param: "prompt");
        var settings = encoded.Select(e => ReadSampling(body, e.Length, defaultMax: Math.Min(16, _model.Config.ContextLength - e.Length), "prompt")).ToList();
        var abort = http.RequestAborted;

        var choices = await Worker.RunAsync(() =>
        {
            var result = new List<(JsonObject Choice, int Tokens)>();
            for (int p = 0; p < encoded.Count; p++)
            {
                var (options, n) = settings[p];
                var samples = options.MaxNewTokens == 0
                    ? Enumerable.Repeat(new SampledSequence([], [], "", Generation.FinishReason.Length), n).ToList()
                    : ParallelSampler.Sample(_model, _tokenizer, encoded[p], n, options, abort);
                foreach (var sample in samples)
                {
                    var choice = new JsonObject
                    {
                        ["index"] = result.Count,
                        ["text"] = (echo ? prompts[p] : "") + sample.Text,
                        ["logprobs"] = logprobs is { } k ? TokenLogProbs(encoded[p], sample.Tokens, echo, (int)k) : null,
                        ["finish_reason"] = FinishReason(sample.Reason),
                    };
                    result.Add((choice, sample.Tokens.Length));
                }
            }
            return result;
        });

        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = $"cmpl-{Guid.NewGuid():N}",
            ["object"] = "text_completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = _options.ModelName,
            ["choices"] = new JsonArray([.. choices.Select(c => c.Choice)]),
            ["usage"] = Usage(encoded.Sum(e => e.Length), choices.Sum(c => c.Tokens)),
        }, abort);
    }

    /// <summary>
    /// OpenAI's completions logprobs object for prompt + completion, scored in one forward pass
    /// (the first token has no context, so its log-prob is null). With echo the prompt tokens are
    /// included: echo + logprobs + max_tokens 0 is how log-likelihood harnesses score text.
    /// </summary>
    JsonObject TokenLogProbs(int[] prompt, int[] completion, bool echo, int top)
    {
        int[] all = [.. prompt, .. completion];
        var scores = Scoring.LogProbs(_model, all, top);
        int from = echo ? 0 : prompt.Length;
        var tokens = new JsonArray();
        var tokenLogProbs = new JsonArray();
        var topLogProbs = new JsonArray();
        var offsets = new JsonArray();
        int offset = 0;
        for (int i = from; i < all.Length; i++)
        {
            var text = _tokenizer.Decode([all[i]]);
            tokens.Add(text);
            offsets.Add(offset);
            offset += text.Length;
            if (i == 0) { tokenLogProbs.Add(null); topLogProbs.Add(null); continue; }
            tokenLogProbs.Add(scores[i - 1].Chosen);
            var alternatives = new JsonObject();
            foreach (var (id, logProb) in scores[i - 1].Top) alternatives[_tokenizer.Decode([id])] = logProb;
            topLogProbs.Add(alternatives);
        }
        return new JsonObject { ["tokens"] = tokens, ["token_logprobs"] = tokenLogProbs, ["top_logprobs"] = topLogProbs, ["text_offset"] = offsets };
    }

    // ---- /v1/moderations ----

    async Task Moderations(HttpContext http)
    {
        var body = await ReadBody(http);
        var inputs = body.StringOrArray("input") ?? throw ApiError.BadRequest("'input' is required.", param: "input", code: "missing_required_parameter");
        var results = new JsonArray();
        foreach (var input in inputs)
        {
            var verdict = _moderator.Moderate(input); // rule-based, no model code: fine on the request thread
            var categories = new JsonObject();
            var scores = new JsonObject();
            foreach (var (name, flagged) in verdict.Categories)
            {
                categories[name] = flagged;
                scores[name] = flagged ? 1.0 : 0.0;
            }
            results.Add(new JsonObject { ["flagged"] = verdict.Flagged, ["categories"] = categories, ["category_scores"] = scores, ["reasons"] = new JsonArray([.. verdict.Reasons.Select(r => (JsonNode)r)]) });
        }
        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = $"modr-{Guid.NewGuid():N}",
            ["model"] = "gpt4sharp-rbrm",
            ["results"] = results,
        }, http.RequestAborted);
    }
}
