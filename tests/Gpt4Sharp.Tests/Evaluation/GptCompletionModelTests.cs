using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Evaluation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Evaluation;

public class GptCompletionModelTests
{
    static readonly ByteTokenizer Bytes = new();

    static GptCompletionModel Tiny() => new(new ModelBundle(
        new GptModel(new GptConfig { VocabSize = Bytes.VocabSize, ContextLength = 32, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 }, seed: 2), Bytes, "memory"));

    [Fact]
    public void Log_likelihood_sums_the_continuation_tokens_log_probs()
    {
        var model = Tiny();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = Bytes.Encode("abcd").Select(i => (long)i).ToArray();
        var logProbs = model.Bundle.Model.Forward(torch.tensor(ids).unsqueeze(0)).log_softmax(-1)[0];
        double expected = logProbs[1, ids[2]].item<float>() + logProbs[2, ids[3]].item<float>();
        Assert.Equal(expected, model.LogLikelihood("ab", "cd"), 4);
    }

    [Fact]
    public async Task Completions_keep_the_prompt_tail_when_it_exceeds_the_context_and_honour_stops()
    {
        var model = Tiny();
        var samples = await model.CompleteAsync(new string('x', 100), n: 3, temperature: 1.0, maxTokens: 8, stop: [], CancellationToken.None);
        Assert.Equal(3, samples.Count);
        var greedy = await model.CompleteAsync("hello", n: 1, temperature: 0, maxTokens: 8, stop: [], CancellationToken.None);
        Assert.True(greedy[0].Length > 2);
        var stop = greedy[0].Substring(1, 1);
        var cut = await model.CompleteAsync("hello", n: 1, temperature: 0, maxTokens: 8, stop: [stop], CancellationToken.None);
        Assert.Equal(greedy[0][..greedy[0].IndexOf(stop, StringComparison.Ordinal)], cut[0]);
    }
}
