using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gpt4Sharp.Model;
using Gpt4Sharp.Server;
using Gpt4Sharp.Text;
using TorchSharp;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Load on the OpenAI-compatible server in this process: 1, 4, 16 and 64 concurrent streaming
/// chat clients over loopback HTTP against a tiny model, then resident memory over 5,000
/// requests. Prints aggregate tokens/s, p50/p99 time to first token and per-token latency
/// (gaps between streamed chunks), errors, and checks the serving targets.
/// </summary>
static class ServingLoadBench
{
    const int MaxTokens = 64;
    static readonly string[] Topics = ["the sea", "a red fox", "old maps", "rain in spring", "a small robot", "the moon", "bread", "trains at night"];

    public static int Run(string[] args)
    {
        int memoryRequests = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 5000;
        int threads = args.Length > 3 && int.TryParse(args[3], out var t) ? t : 1;
        torch.set_num_threads(threads); // default 1: a model this small runs steadier on one thread, and HTTP gets the other core
        var tokenizer = BuildTokenizer();
        int width = args.Length > 1 && int.TryParse(args[1], out var w) ? w : 256, layers = args.Length > 2 && int.TryParse(args[2], out var l) ? l : 4;
        var config = new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 256, DModel = width, Layers = layers, Heads = 4, KvHeads = 4 };
        using var model = new GptModel(config, seed: 1);
        var server = OpenAiServer.StartAsync(model, tokenizer, new ServerOptions { ModelName = "bench", Port = 0, MaxBatch = 64, KeptSequences = 64 }).GetAwaiter().GetResult();
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
            Console.WriteLine($"model d={config.DModel} L={config.Layers} ({config.ParameterCount / 1e6:F2}M params, vocab {config.VocabSize}), streaming chat, up to {MaxTokens} tokens, temperature 1, batch up to 64, {threads} libtorch thread(s)");
            Console.WriteLine("numbers from one run on a shared 2-core machine: noisy");
            Load(http, clients: 4, requestsPerClient: 2); // warm-up (JIT, allocator)
            StepCost(model);

            Console.WriteLine($"{"clients",8} {"requests",9} {"tokens",7} {"tok/s",8} {"TTFT p50 ms",12} {"TTFT p99 ms",12} {"tok p50 ms",11} {"tok p99 ms",11} {"errors",7} {"mean batch",11} {"engine busy",12}");
            var throughput = new Dictionary<int, double>();
            int errorsAt64 = 0;
            foreach (var clients in new[] { 1, 4, 16, 64 })
            {
                long steps = server.Engine.Steps, rows = server.Engine.StepRows;
                var busy = server.Engine.BusyTime;
                var clock = Stopwatch.StartNew();
                var level = Load(http, clients, requestsPerClient: clients == 1 ? 48 : Math.Max(6, 384 / clients)); // enough requests per client that the batch stays full but for the last requests' tail, and a single stream long enough to time steadily
                double meanBatch = (double)(server.Engine.StepRows - rows) / Math.Max(1, server.Engine.Steps - steps);
                throughput[clients] = level.TokensPerSecond;
                if (clients == 64) errorsAt64 = level.Errors;
                Console.WriteLine($"{clients,8} {level.Requests,9} {level.Tokens,7} {level.TokensPerSecond,8:F0} {P(level.FirstToken, 50),12:F1} {P(level.FirstToken, 99),12:F1} {P(level.Gaps, 50),11:F2} {P(level.Gaps, 99),11:F2} {level.Errors,7} {meanBatch,11:F1} {(server.Engine.BusyTime - busy) / clock.Elapsed,12:P0}");
            }

            Console.WriteLine($"resident memory over {memoryRequests:N0} requests after 1,000 warm-up requests (16 clients, 8 tokens each):");
            var (readings, errors) = Memory(http, memoryRequests);
            double change = TrendPercent(readings);
            Console.WriteLine($"after warm-up {readings[0]:F1} MB, final {readings[^1]:F1} MB ({(readings[^1] / readings[0] - 1) * 100:+0.0;-0.0;0.0}%), fitted trend over the run {change:+0.0;-0.0;0.0}% ({errors} errors)");

            double ratio = throughput[16] / throughput[1];
            Console.WriteLine($"target: aggregate at 16 streams >= 4x one stream: {ratio:F1}x {(ratio >= 4 ? "met" : "MISSED")}");
            Console.WriteLine($"target: zero errors at 64 streams: {errorsAt64} {(errorsAt64 == 0 ? "met" : "MISSED")}");
            Console.WriteLine($"target: memory flat within 5% (fitted trend): {change:+0.0;-0.0;0.0}% {(Math.Abs(change) <= 5 ? "met" : "MISSED")}");
            return 0;
        }
        finally { server.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    /// <summary>The model side alone: milliseconds per batched decode step at 1, 4, 16 and 64 rows (40 positions of history each).</summary>
    static void StepCost(GptModel model)
    {
        using var inference = torch.inference_mode();
        using var decoder = new BatchedDecoder(model);
        using var cache = decoder.NewCache(64);
        for (int slot = 0; slot < 64; slot++) decoder.Prefill(cache, slot, Enumerable.Range(0, 40).Select(i => (i * 7 + slot) % 500).ToArray()).Dispose();
        var line = new StringBuilder("decode step alone (ms): ");
        foreach (var rows in new[] { 1, 4, 16, 64 })
        {
            int[] slots = [.. Enumerable.Range(0, rows)];
            const int steps = 30;
            var clock = Stopwatch.StartNew();
            for (int step = 0; step < steps; step++)
            {
                decoder.Decode(cache, slots, [.. slots.Select(s => (s + step) % 500)]).Dispose();
                foreach (var slot in slots) cache.Truncate(slot, 40);
            }
            line.Append($"{rows} rows {clock.Elapsed.TotalMilliseconds / steps:F2}  ");
        }
        Console.WriteLine(line);
    }

    sealed record Level(int Requests, int Tokens, double TokensPerSecond, List<double> FirstToken, List<double> Gaps, int Errors);

    static Level Load(HttpClient http, int clients, int requestsPerClient)
    {
        var firstToken = new List<double>();
        var gaps = new List<double>();
        int tokens = 0, errors = 0, requests = 0;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int r = 0; r < requestsPerClient; r++)
            {
                var result = await Stream(http, $"Tell me about {Topics[(c + r) % Topics.Length]}, please.", MaxTokens, seed: c * 1000 + r);
                lock (gaps)
                {
                    requests++;
                    if (result is null) { errors++; continue; }
                    tokens += result.Value.Tokens;
                    if (result.Value.FirstToken is { } first) firstToken.Add(first);
                    gaps.AddRange(result.Value.Gaps);
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        return new Level(requests, tokens, tokens / clock.Elapsed.TotalSeconds, firstToken, gaps, errors);
    }

    /// <summary>One streaming request: (completion tokens, ms to the first content chunk, ms between chunks), or null on any error.</summary>
    static async Task<(int Tokens, double? FirstToken, List<double> Gaps)?> Stream(HttpClient http, string prompt, int maxTokens, long seed)
    {
        var body = new JsonObject
        {
            ["model"] = "bench",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 1.0,
            ["seed"] = seed,
            ["stream"] = true,
        };
        try
        {
            var clock = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) return null;
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            double? first = null, last = null;
            var gaps = new List<double>();
            int tokens = -1;
            bool done = false;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                if (line == "data: [DONE]") { done = true; break; }
                var chunk = JsonNode.Parse(line[6..])!;
                if (chunk["error"] is not null) return null;
                if (chunk["usage"] is JsonObject usage) tokens = usage["completion_tokens"]!.GetValue<int>();
                if (chunk["choices"]?.AsArray() is [{ } choice, ..] && choice["delta"]?["content"]?.GetValue<string>() is { Length: > 0 })
                {
                    double now = clock.Elapsed.TotalMilliseconds;
                    if (last is { } before) gaps.Add(now - before);
                    first ??= now;
                    last = now;
                }
            }
            return done && tokens >= 0 ? (tokens, first, gaps) : null;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Warm-up first (1,000 requests: JIT tiering, thread-pool growth, Kestrel's buffer pools and
    /// every cache slot in use), then <paramref name="total"/> measured requests from 16 clients.
    /// Resident memory is sampled every 250 requests; the native allocator returns memory in
    /// bursts, so the warm-up and final values are medians of the last 4 samples of each phase.
    /// </summary>
    /// <summary>
    /// Resident memory read at quiet points: after the warm-up requests and after every further
    /// 1,000, each time with no request in flight and after a full garbage collection, so that
    /// readings compare the same state. Returns the readings (the first is after warm-up).
    /// </summary>
    static (List<double> Readings, int Errors) Memory(HttpClient http, int total)
    {
        Requests(http, 1000, firstId: 0);
        var readings = new List<double> { ResidentMb() };
        int errors = 0;
        for (int done = 0; done < total; done += 1000)
        {
            errors += Requests(http, Math.Min(1000, total - done), firstId: 1000 + done);
            readings.Add(ResidentMb());
            Console.WriteLine($"  {Math.Min(done + 1000, total),6:N0} requests  {readings[^1],8:F1} MB");
        }
        return (readings, errors);
    }

    /// <summary>
    /// Growth over the run from the least-squares line through the readings, in percent of their
    /// mean: a leak shows as a slope, while the allocator's ups and downs between single readings
    /// (several percent here) do not pass for one.
    /// </summary>
    static double TrendPercent(IReadOnlyList<double> readings)
    {
        double n = readings.Count, meanX = (n - 1) / 2, meanY = readings.Average();
        double slope = readings.Select((y, x) => (x - meanX) * (y - meanY)).Sum() / readings.Select((_, x) => (x - meanX) * (x - meanX)).Sum();
        return slope * (n - 1) / meanY * 100;
    }

    /// <summary><paramref name="count"/> short streaming requests from 16 concurrent clients; returns the number that failed.</summary>
    static int Requests(HttpClient http, int count, int firstId)
    {
        const int clients = 16;
        int next = 0, errors = 0;
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i > count) return;
                int id = firstId + i;
                if (await Stream(http, $"Request {id}: tell me about {Topics[id % Topics.Length]}.", 8, seed: id) is null) Interlocked.Increment(ref errors);
            }
        })).ToArray();
        Task.WaitAll(tasks);
        return errors;
    }

    static double ResidentMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / 1e6;
    }

    static double P(List<double> values, int percentile)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    static ITokenizer BuildTokenizer()
    {
        var texts = Enumerable.Range(0, 200).Select(i => $"Request {i}: tell me about {Topics[i % Topics.Length]}, please. Once upon a time there was {Topics[(i + 3) % Topics.Length]}.");
        var dir = Path.Combine(Path.GetTempPath(), $"g4s-serve-bench-{Environment.ProcessId}");
        BpeTrainer.Train(texts, vocabSize: 512).Save(dir);
        return Tokenizers.Load(dir);
    }
}
