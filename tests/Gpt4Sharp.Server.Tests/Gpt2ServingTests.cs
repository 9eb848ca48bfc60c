using Gpt4Sharp.Model;
using Microsoft.Extensions.AI;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Gpt4Sharp.Server.Tests;

/// <summary>The serving engine (continuous batching over a slot cache) on a GPT-2-architecture model.</summary>
public sealed class Gpt2ServingTests
{
    [Fact]
    public async Task A_gpt2_model_answers_the_same_streamed_or_not_and_reuses_its_cache()
    {
        using var model = new GptModel(ServerFixture.Config with { Architecture = ModelArchitecture.Gpt2, FfnHidden = 0 }, seed: 5);
        // An untrained tied model repeats its last input token, here <|assistant|>, which would end the
        // answer at once; zero the special tokens' embeddings so their logits are 0 and a byte wins.
        using (TorchSharp.torch.no_grad())
            model.state_dict()["model.embed_tokens.weight"].narrow(0, 256, Text.SpecialTokens.All.Count).zero_();
        using IChatClient client = new Gpt4SharpChatClient(model, new ByteTokenizer(), modelId: "gpt2-tiny");
        var greedy = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
        List<AiMessage> history = [new(ChatRole.User, "Hello there")];

        var first = await client.GetResponseAsync(history, greedy);
        Assert.True(first.Usage!.OutputTokenCount > 0, $"{first.FinishReason} {first.Usage.InputTokenCount} [{first.Text}]");
        var streamed = new System.Text.StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(history, greedy)) streamed.Append(update.Text);
        Assert.Equal(first.Text, streamed.ToString());

        history.AddRange(first.Messages);
        history.Add(new AiMessage(ChatRole.User, "And then?"));
        var second = await client.GetResponseAsync(history, greedy);
        Assert.True(second.Usage!.CachedInputTokenCount >= first.Usage.InputTokenCount);
    }
}
