using Prometheus;

namespace Gpt4Sharp.Server;

/// <summary>
/// The server's Prometheus metrics (prometheus-net), in a registry of its own so that several
/// servers in one process (tests) keep separate counts.
/// </summary>
public sealed class ServerMetrics
{
    readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    readonly Counter _requests, _errors, _promptTokens, _completionTokens, _cachedTokens;
    readonly Histogram _latency;
    readonly Gauge _queue, _running;

    public ServerMetrics(Func<int> queueLength, Func<int> running)
    {
        var factory = Metrics.WithCustomRegistry(_registry);
        _requests = factory.CreateCounter("gpt4sharp_requests_total", "HTTP requests answered.", "path", "status");
        _errors = factory.CreateCounter("gpt4sharp_errors_total", "Requests answered with an error, by OpenAI error type.", "type");
        _promptTokens = factory.CreateCounter("gpt4sharp_prompt_tokens_total", "Prompt tokens processed.");
        _completionTokens = factory.CreateCounter("gpt4sharp_completion_tokens_total", "Completion tokens generated.");
        _cachedTokens = factory.CreateCounter("gpt4sharp_cached_prompt_tokens_total", "Prompt tokens served from a kept KV cache instead of being computed.");
        _latency = factory.CreateHistogram("gpt4sharp_request_duration_seconds", "Time from request to the end of its response.",
            new HistogramConfiguration { LabelNames = ["path"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        _queue = factory.CreateGauge("gpt4sharp_inference_queue_length", "Requests and jobs waiting for the inference thread.");
        _running = factory.CreateGauge("gpt4sharp_batch_size", "Sequences in the running batch.");
        _registry.AddBeforeCollectCallback(() =>
        {
            _queue.Set(queueLength());
            _running.Set(running());
        });
    }

    public void Request(string path, int status, TimeSpan elapsed)
    {
        _requests.WithLabels(path, status.ToString()).Inc();
        _latency.WithLabels(path).Observe(elapsed.TotalSeconds);
    }

    public void Error(string type) => _errors.WithLabels(type).Inc();

    public void Tokens(int prompt, int completion, int cached)
    {
        _cachedTokens.Inc(cached);
        _promptTokens.Inc(prompt);
        _completionTokens.Inc(completion);
    }

    public Task WriteAsync(Stream output, CancellationToken cancel) => _registry.CollectAndExportAsTextAsync(output, cancel);
}
