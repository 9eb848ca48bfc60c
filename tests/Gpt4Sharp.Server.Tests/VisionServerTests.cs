using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
using SkiaSharp;
using TorchSharp;

namespace Gpt4Sharp.Server.Tests;

/// <summary>A server over a tiny untrained vision-language model, for image_url content parts.</summary>
public sealed class VisionServerFixture : IAsyncLifetime
{
    public ByteTokenizer Tokenizer { get; } = new();
    public VisionLanguageModel Vlm { get; }
    public ImageSpanEncoder Images { get; }
    public OpenAiServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public VisionServerFixture()
    {
        Vlm = new VisionLanguageModel(new VlmConfig
        {
            Vision = new VisionConfig { ImageSize = 16, PatchSize = 8, Width = 32, Layers = 1, Heads = 2 },
            Decoder = GptConfig.Create(Tokenizer.VocabSize, 96, 32, 2, 2),
        }, seed: 3);
        Vlm.eval();
        Images = new ImageSpanEncoder(Vlm, Tokenizer);
    }

    public async Task InitializeAsync()
    {
        Server = await OpenAiServer.StartAsync(Vlm.Decoder, Tokenizer, Images, new ServerOptions { ModelName = "tiny-vlm", Port = 0 });
        Http = new HttpClient { BaseAddress = Server.Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Vlm.Dispose();
    }
}

public sealed class VisionServerTests(VisionServerFixture fixture) : IClassFixture<VisionServerFixture>
{
    /// <summary>A small PNG: a coloured square on white.</summary>
    public static byte[] Png(SKColor colour)
    {
        using var bitmap = new SKBitmap(20, 20);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var paint = new SKPaint { Color = colour };
            canvas.DrawRect(4, 4, 12, 12, paint);
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static JsonObject Request(string url, int maxTokens = 5) => new()
    {
        ["model"] = "tiny-vlm",
        ["max_tokens"] = maxTokens,
        ["temperature"] = 0,
        ["messages"] = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(
                new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url } },
                new JsonObject { ["type"] = "text", ["text"] = "What is this?" }),
        }),
    };

    async Task<(HttpStatusCode Status, JsonNode Body)> Post(JsonObject body)
    {
        var response = await fixture.Http.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Fact]
    public async Task A_data_uri_picture_is_read_like_the_model_reads_it_directly()
    {
        var png = Png(SKColors.Red);
        var (status, answer) = await Post(Request("data:image/png;base64," + Convert.ToBase64String(png)));
        Assert.Equal(HttpStatusCode.OK, status);

        // The same prompt framed and embedded by hand, decoded greedily with full forward passes.
        using var pixels = ImageInput.FromBitmap(SKBitmap.Decode(png), fixture.Images.ImageOptions);
        var prompt = MultimodalChat.Encode(fixture.Tokenizer, [new MultimodalMessage("user", "What is this?", [pixels])], fixture.Images.TokensPerImage, addGenerationPrompt: true);
        int[] stops = [.. SpecialTokens.All.Select(t => fixture.Tokenizer.SpecialTokenId(t)!.Value)]; // chat answers end at any special token
        var ids = prompt.Ids.ToList();
        var produced = new List<int>();
        using (torch.inference_mode())
            for (int step = 0; step < 5; step++)
            {
                using var scope = torch.NewDisposeScope();
                int next = (int)fixture.Vlm.Decoder.ForwardEmbeddings(fixture.Images.Embed(ids, [pixels]))[0, -1].argmax().item<long>();
                if (stops.Contains(next)) break;
                produced.Add(next);
                ids.Add(next);
            }

        Assert.Equal(fixture.Tokenizer.Decode(produced), answer["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(prompt.Ids.Length, answer["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(produced.Count, answer["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.True(prompt.Ids.Length > fixture.Images.TokensPerImage); // the span counts as prompt tokens
    }

    [Theory]
    [InlineData("data:image/png;base64,%%%not-base64%%%", "invalid_image")]
    [InlineData("data:image/png;base64,aGVsbG8gd29ybGQ=", "invalid_image")] // "hello world": valid base64, not a picture
    [InlineData("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABQAAAAU", "invalid_image")] // a PNG cut off after its header
    [InlineData("https://example.com/cat.png", "invalid_image_url")]
    [InlineData("data:text/plain,hello", "invalid_image_url")]
    public async Task Broken_image_data_is_a_400_and_the_server_keeps_serving(string url, string code)
    {
        var (status, body) = await Post(Request(url));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(code, body["error"]!["code"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(body["error"]!["message"]!.GetValue<string>()));

        var (after, _) = await Post(Request("data:image/png;base64," + Convert.ToBase64String(Png(SKColors.Blue)), maxTokens: 2));
        Assert.Equal(HttpStatusCode.OK, after);
    }
}
