using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
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
    /// <summary>Chat answers are plain text: any special token (end of turn, a role or image token) means the model has left its turn, as in ChatSession.</summary>
    readonly int[] _chatStopTokens;

    /// <summary>The continuous batch and the inference thread it runs on.</summary>
    public InferenceEngine Engine { get; }
    public ServerMetrics Metrics { get; }
    /// <summary>The bound address, such as http://127.0.0.1:41234 (known after start).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    OpenAiServer(GptModel model, ITokenizer tokenizer, ImageSpanEncoder? images, ServerOptions options)
    {
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        _stopTokens = new[] { SpecialTokens.EndOfTurn, SpecialTokens.EndOfText }.Select(tokenizer.SpecialTokenId).OfType<int>().ToArray();
        _chatStopTokens = SpecialTokens.All.Select(tokenizer.SpecialTokenId).OfType<int>().ToArray();
        Engine = new InferenceEngine(model, tokenizer, images, new EngineOptions { MaxBatch = options.MaxBatch, KeptSequences = options.KeptSequences });
        Metrics = new ServerMetrics(() => Engine.Waiting + Engine.Worker.QueueLength, () => Engine.Running);

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
        WebChatPage.Map(_app);
        _app.MapFallback((HttpContext http) => throw new ApiError(404, $"There is no endpoint {http.Request.Method} {http.Request.Path}.", code: "unknown_url"));
    }

    /// <summary>Starts serving a text-only <paramref name="model"/>; dispose the result to stop.</summary>
    public static Task<OpenAiServer> StartAsync(GptModel model, ITokenizer tokenizer, ServerOptions options, CancellationToken cancel = default) =>
        StartAsync(model, tokenizer, null, options, cancel);

    /// <summary>
    /// Starts serving <paramref name="model"/>; with a vision-language model's <paramref name="images"/>
    /// (<c>VlmBundle.Images</c>, <paramref name="model"/> its decoder) chat messages may carry
    /// image_url parts. Dispose the result to stop.
    /// </summary>
    public static async Task<OpenAiServer> StartAsync(GptModel model, ITokenizer tokenizer, ImageSpanEncoder? images, ServerOptions options, CancellationToken cancel = default)
    {
        var server = new OpenAiServer(model, tokenizer, images, options);
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
        Engine.Dispose();
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

    /// <summary>OpenAI's usage object: prompt tokens include the cached ones (as OpenAI bills them), plus the cost from the price table.</summary>
    JsonObject Usage(int prompt, int completion, int cached)
    {
        Metrics.Tokens(prompt, completion, cached);
        return new JsonObject
        {
            ["prompt_tokens"] = prompt,
            ["completion_tokens"] = completion,
            ["total_tokens"] = prompt + completion,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cached },
            ["cost_usd"] = _options.Prices.Cost(_model.Config.ContextLength, prompt, completion),
        };
    }

    // ---- /v1/chat/completions ----

    /// <summary>One sampling setting per choice: choice i samples with seed + i, so n choices differ yet repeat exactly.</summary>
    static SamplingOptions[] Choices(SamplingOptions options, int n) =>
        [.. Enumerable.Range(0, n).Select(i => options with { Seed = options.Seed + i })];

    async Task ChatCompletions(HttpContext http)
    {
        var body = await ReadBody(http);
        RequireModel(body);
        var messages = ReadMessages(body, Engine.Images is not null);
        EncodedPrompt prompt;
        try { prompt = ChatPrompt.Encode(_tokenizer, Engine.Images, messages); }
        catch (UserError e) { throw ApiError.BadRequest(e.Message, param: "messages", code: "invalid_image"); }
        GenerationJob job;
        bool stream;
        try
        {
            var (options, n) = ReadSampling(body, prompt.Ids.Length, defaultMax: _model.Config.ContextLength - prompt.Ids.Length, "messages");
            stream = body.Bool("stream", false);
            job = Engine.Submit(prompt.Ids, prompt.Pictures, Choices(options with { StopTokens = _chatStopTokens }, n), http.RequestAborted);
        }
        catch
        {
            prompt.Dispose();
            throw;
        }
        string id = $"chatcmpl-{Guid.NewGuid():N}";
        if (stream) { await StreamChat(http, id, job); return; }

        var results = await job.Completion;
        var array = new JsonArray();
        for (int i = 0; i < results.Length; i++)
            array.Add(new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = results[i].Text },
                ["logprobs"] = null,
                ["finish_reason"] = FinishReason(results[i].Reason),
            });
        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = _options.ModelName,
            ["choices"] = array,
            ["usage"] = Usage(job.PromptTokens, results.Sum(r => r.Tokens.Length), job.CachedTokens),
        }, http.RequestAborted);
    }

    static List<PromptMessage> ReadMessages(RequestJson body, bool readsImages)
    {
        var array = body.Array("messages") ?? throw ApiError.BadRequest("'messages' is required.", param: "messages", code: "missing_required_parameter");
        if (array.Count == 0) throw ApiError.BadRequest("'messages' must hold at least one message.", param: "messages");
        var messages = new List<PromptMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            string param = $"messages[{i}]";
            if (array[i] is not JsonObject item) throw ApiError.BadRequest($"'{param}' must be an object with 'role' and 'content'.", param: param);
            var message = new RequestJson(item);
            var role = message.RequiredString("role");
            if (role == "developer") role = "system"; // newer clients send system prompts as "developer"
            if (role is not ("system" or "user" or "assistant"))
                throw ApiError.BadRequest($"'{param}.role' must be system, user or assistant (got '{role}').", param: $"{param}.role");
            var (text, images) = ReadContent(item, $"{param}.content", readsImages);
            messages.Add(new PromptMessage(role, text, images));
        }
        return messages;
    }

    /// <summary>Content is a string or an array of text and image_url parts; pictures must be inline <c>data:</c> URIs (the server fetches nothing).</summary>
    static (string Text, IReadOnlyList<byte[]> Images) ReadContent(JsonObject message, string param, bool readsImages)
    {
        switch (message["content"])
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return (v.GetValue<string>(), []);
            case JsonArray parts:
                var text = new StringBuilder();
                var images = new List<byte[]>();
                for (int j = 0; j < parts.Count; j++)
                {
                    string partParam = $"{param}[{j}]";
                    if (parts[j] is not JsonObject part) throw ApiError.BadRequest($"'{partParam}' must be an object with a 'type'.", param: partParam);
                    var fields = new RequestJson(part);
                    switch (fields.RequiredString("type"))
                    {
                        case "text":
                            text.Append(fields.RequiredString("text"));
                            break;
                        case "image_url":
                            if (!readsImages)
                                throw ApiError.BadRequest("This model reads no images; send text only, or serve a vision-language model trained with `gpt4sharp vlm train`.", param: partParam, code: "image_not_supported");
                            var url = part["image_url"] switch
                            {
                                JsonObject o => new RequestJson(o).RequiredString("url"),
                                JsonValue u when u.GetValueKind() == JsonValueKind.String => u.GetValue<string>(),
                                _ => throw ApiError.BadRequest($"'{partParam}.image_url' must be an object with a 'url'.", param: $"{partParam}.image_url", code: "invalid_type"),
                            };
                            images.Add(DataUri(url, $"{partParam}.image_url.url"));
                            break;
                        case var other:
                            throw ApiError.BadRequest($"'{partParam}.type' must be 'text' or 'image_url' (got '{other}').", param: $"{partParam}.type");
                    }
                }
                return (text.ToString(), images);
            default:
                throw ApiError.BadRequest($"'{param}' must be a string or an array of content parts.", param: param);
        }
    }

    /// <summary>The bytes of a base64 <c>data:image/...;base64,...</c> URI.</summary>
    static byte[] DataUri(string url, string param)
    {
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest("Images must be inline data: URIs such as 'data:image/png;base64,...'; this server fetches no URLs.", param: param, code: "invalid_image_url");
        int comma = url.IndexOf(',');
        var header = comma < 0 ? "" : url[5..comma];
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase) || !header.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest("An image data URI must look like 'data:image/png;base64,<data>'.", param: param, code: "invalid_image_url");
        var data = url.AsSpan(comma + 1);
        var bytes = new byte[data.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64Chars(data, bytes, out int written))
            throw ApiError.BadRequest("The image data URI does not hold valid base64.", param: param, code: "invalid_image");
        return bytes[..written];
    }

    async Task StreamChat(HttpContext http, string id, GenerationJob job)
    {
        StartEventStream(http);
        var results = new List<ChoiceResult>();
        try
        {
            for (int i = 0; i < job.Choices.Count; i++)
            {
                var choice = job.Choices[i];
                await SendEvent(http, ChatChunk(id, i, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
                await foreach (var token in choice.Tokens.ReadAllAsync(http.RequestAborted))
                    if (token.Text.Length > 0) await SendEvent(http, ChatChunk(id, i, new JsonObject { ["content"] = token.Text }, null), flush: choice.Tokens.Count == 0);
                var result = await choice.Completion;
                results.Add(result);
                await SendEvent(http, ChatChunk(id, i, new JsonObject(), FinishReason(result.Reason)));
            }
        }
        catch (Exception e) when (e is UserError or ApiError)
        {
            await SendEvent(http, ApiError.BadRequest(e.Message).ToJson());
            await SendDone(http);
            return;
        }
        await SendEvent(http, ChatChunk(id, null, null, null, Usage(job.PromptTokens, results.Sum(r => r.Tokens.Length), job.CachedTokens)));
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

    /// <summary>Writes one server-sent event; <paramref name="flush"/> false leaves it buffered because more tokens are already waiting (one flush for all of them).</summary>
    static async Task SendEvent(HttpContext http, JsonObject data, bool flush = true)
    {
        await http.Response.WriteAsync($"data: {data.ToJsonString()}\n\n", http.RequestAborted);
        if (flush) await http.Response.Body.FlushAsync(http.RequestAborted);
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
        bool stream = body.Bool("stream", false);
        bool echo = body.Bool("echo", false);
        long? logprobs = body.Integer("logprobs");
        if (logprobs is < 0 or > 5) throw ApiError.BadRequest($"'logprobs' must be between 0 and 5 (got {logprobs}).", param: "logprobs");
        if (stream && logprobs is not null) throw ApiError.BadRequest("'logprobs' is only available without streaming; leave 'stream' false to score tokens.", param: "logprobs");

        var encoded = prompts.Select(p => _tokenizer.Encode(p, allowSpecial: true)).ToList();
        if (encoded.Any(e => e.Length == 0)) throw ApiError.BadRequest("Every prompt must hold at least one token.", param: "prompt");
        var settings = encoded.Select(e => ReadSampling(body, e.Length, defaultMax: Math.Min(16, _model.Config.ContextLength - e.Length), "prompt")).ToList();
        var abort = http.RequestAborted;
        int n = settings[0].N;
        // max_tokens 0 (scoring with echo) generates nothing, so it never enters the batch.
        var jobs = encoded.Select((e, p) => settings[p].Options.MaxNewTokens == 0 ? null : Engine.Submit(e, [], Choices(settings[p].Options, n), abort)).ToList();
        string id = $"cmpl-{Guid.NewGuid():N}";
        if (stream) { await StreamCompletions(http, id, prompts, echo, jobs, n); return; }

        var choices = new JsonArray();
        int completionTokens = 0;
        for (int p = 0; p < prompts.Count; p++)
        {
            var results = jobs[p] is { } job ? await job.Completion : [.. Enumerable.Repeat(new ChoiceResult([], "", Generation.FinishReason.Length), n)];
            foreach (var result in results)
            {
                var scores = logprobs is { } k ? await Engine.Worker.RunAsync(() => TokenLogProbs(encoded[p], result.Tokens, echo, (int)k)) : null;
                choices.Add(new JsonObject
                {
                    ["index"] = choices.Count,
                    ["text"] = (echo ? prompts[p] : "") + result.Text,
                    ["logprobs"] = scores,
                    ["finish_reason"] = FinishReason(result.Reason),
                });
                completionTokens += result.Tokens.Length;
            }
        }
        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = id,
            ["object"] = "text_completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = _options.ModelName,
            ["choices"] = choices,
            ["usage"] = Usage(encoded.Sum(e => e.Length), completionTokens, jobs.Sum(j => j?.CachedTokens ?? 0)),
        }, abort);
    }

    /// <summary>Server-sent events for /v1/completions: text pieces per choice (index counts across prompts), a usage event, then [DONE].</summary>
    async Task StreamCompletions(HttpContext http, string id, IReadOnlyList<string> prompts, bool echo, IReadOnlyList<GenerationJob?> jobs, int n)
    {
        JsonObject Chunk(int index, string text, string? finish) => new()
        {
            ["id"] = id,
            ["object"] = "text_completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = _options.ModelName,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = index, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = finish }),
        };
        StartEventStream(http);
        int completionTokens = 0;
        try
        {
            for (int p = 0; p < prompts.Count; p++)
                for (int c = 0; c < n; c++)
                {
                    int index = p * n + c;
                    if (echo) await SendEvent(http, Chunk(index, prompts[p], null));
                    if (jobs[p] is not { } job) { await SendEvent(http, Chunk(index, "", "length")); continue; }
                    await foreach (var token in job.Choices[c].Tokens.ReadAllAsync(http.RequestAborted))
                        if (token.Text.Length > 0) await SendEvent(http, Chunk(index, token.Text, null), flush: job.Choices[c].Tokens.Count == 0);
                    var result = await job.Choices[c].Completion;
                    completionTokens += result.Tokens.Length;
                    await SendEvent(http, Chunk(index, "", FinishReason(result.Reason)));
                }
        }
        catch (Exception e) when (e is UserError or ApiError)
        {
            await SendEvent(http, ApiError.BadRequest(e.Message).ToJson());
            await SendDone(http);
            return;
        }
        await SendEvent(http, new JsonObject
        {
            ["id"] = id,
            ["object"] = "text_completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = _options.ModelName,
            ["choices"] = new JsonArray(),
            ["usage"] = Usage(jobs.Select((j, p) => j?.PromptTokens ?? 0).Sum(), completionTokens, jobs.Sum(j => j?.CachedTokens ?? 0)),
        });
        await SendDone(http);
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
