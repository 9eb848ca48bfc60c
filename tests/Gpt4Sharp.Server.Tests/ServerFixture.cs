using System.Net.Http.Headers;
using Gpt4Sharp.Model;

namespace Gpt4Sharp.Server.Tests;

/// <summary>
/// One in-process server on a free loopback port with a tiny untrained model, shared by every
/// test class in the "Server" collection (so they never race for ports or the inference thread).
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string Key = "test-key";
    public const string ModelName = "tiny";
    public static readonly GptConfig Config = new() { VocabSize = 256 + Text.SpecialTokens.All.Count, ContextLength = 96, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 };

    public GptModel Model { get; } = new(Config, seed: 5);
    public ByteTokenizer Tokenizer { get; } = new();
    public OpenAiServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public Uri V1 => new(Server.Address, "v1");

    public async Task InitializeAsync()
    {
        Server = await OpenAiServer.StartAsync(Model, Tokenizer, new ServerOptions { ModelName = ModelName, Port = 0, ApiKeys = [Key], MaxBodyBytes = 64 * 1024 });
        Http = new HttpClient { BaseAddress = Server.Address, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Model.Dispose();
    }
}

[CollectionDefinition("Server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
