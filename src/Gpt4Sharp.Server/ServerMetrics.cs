using Prometheus;

namespace Gpt4Sharp.Server;

/// <summary>
/// The server's Prometheus metrics (prometheus-net), in a registry of its own so that several
/// servers in one process (tests) keep separate counts.
/// </summary>
public sealed class ServerMetrics
{
    readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    readonly Counter _requests, _errors, _promptTokens, _completionTokens;
    readonly Histogram _latency;
    readonly Gauge _queue;

    public ServerMetrics(Func<int> queueLength)
    {
        var factory = Metrics.WithCustomRegistry(_registry);
        _requests = factory.CreateCounter("gpt4sharp_requests_total", "HTTP requests answered.", "path", "status");
        _errors = factory.CreateCounter("gpt4sharp_errors_total", "Requests answered with an error, by OpenAI error type.", "type");
        _promptTokens = factory.CreateCounter("gpt4sharp_prompt_tokens_total", "Prompt tokens processed.");
        _completionTokens = factory.CreateCounter("gpt4sharp_completion_tokens_total", "Completion tokens generated.");
        _latency = factory.CreateHistogram("gpt4sharp_request_duration_seconds", "Time from request to the end of its response.",
            new HistogramConfiguration { LabelNames = ["path"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        _queue = factory.CreateGauge("gpt4sharp_inference_queue_length", "Jobs waiting for the inference thread.");
        _registry.AddBeforeCollectCallback(() => _queue.Set(queueLength()));
    }

    public void Request(string path, int status, TimeSpan elapsed)
    {
        _requests.WithLabels(path, status.ToString()).Inc();
        _latency.WithLabels(path).Observe(elapsed.TotalSeconds);
    }

    public void Error(string type) => _errors.WithLabels(type).Inc();

    public void Tokens(int prompt, int completion)
    {
        _promptTokens.Inc(prompt);
        _completionTokens.Inc(completion);
    }

    public Task WriteAsync(Stream output, CancellationToken cancel) => _registry.CollectAndExportAsTextAsync(output, cancel);
}
