using Gpt4Sharp.Chat;

namespace Gpt4Sharp.Server;

/// <summary>How the OpenAI-compatible server is exposed.</summary>
public sealed record ServerOptions
{
    /// <summary>The id clients put in "model"; requests naming another model get 404.</summary>
    public string ModelName { get; init; } = "gpt4sharp";
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 binds a free port (read it back from <see cref="OpenAiServer.Address"/>).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>When non-empty, every /v1 request needs "Authorization: Bearer KEY" with one of these.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];
    /// <summary>Request bodies above this many bytes get 413.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;
    public PriceTable Prices { get; init; } = PriceTable.Gpt4;
    /// <summary>Seed used when a request gives none.</summary>
    public long DefaultSeed { get; init; } = 1234;
    /// <summary>Sequences decoded together in one forward pass at most (continuous batching); more requests wait.</summary>
    public int MaxBatch { get; init; } = 16;
    /// <summary>Finished sequences whose KV cache is kept so a later request with the same prefix (the next turn) skips it.</summary>
    public int KeptSequences { get; init; } = 16;
    /// <summary>Where internal errors are reported (the CLI passes stderr).</summary>
    public Action<string>? Log { get; init; }
}
