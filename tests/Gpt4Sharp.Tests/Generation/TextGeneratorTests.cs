using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Generation;

public class TextGeneratorTests
{
    static readonly ByteTokenizer Bytes = new();
    static readonly GptConfig Config = new() { VocabSize = Bytes.VocabSize, ContextLength = 48, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 };

    static async Task<List<GeneratedToken>> Collect(TextGenerator g, string prompt, SamplingOptions o)
    {
        var list = new List<GeneratedToken>();
        await foreach (var t in g.StreamAsync(Bytes.Encode(prompt), o)) list.Add(t);
        return list;
    }

    [Fact]
    public async Task Greedy_cached_decoding_equals_argmax_over_full_forwards()
    {
        using var model = new GptModel(Config, seed: 3);
        var generator = new TextGenerator(model, Bytes);
        var tokens = (await Collect(generator, "hello", SamplingOptions.Greedy(12))).Select(t => t.Id).ToArray();

        var ids = Bytes.Encode("hello").Select(i => (long)i).ToList();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < 12; i++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.Forward(torch.tensor(ids.ToArray()).unsqueeze(0));
            ids.Add(logits[0, -1].argmax().item<long>());
        }
        Assert.Equal(ids.Skip(5).Select(i => (int)i), tokens);
        Assert.Equal(FinishReason.Length, generator.LastFinishReason);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_and_top_k_one_is_greedy()
    {
        using var model = new GptModel(Config, seed: 3);
        var g = new TextGenerator(model, Bytes);
        var sample = new SamplingOptions { MaxNewTokens = 16, Temperature = 1.5, Seed = 9 };
        var a = (await Collect(g, "ab", sample)).Select(t => t.Id);
        var b = (await Collect(g, "ab", sample)).Select(t => t.Id);
        var c = (await Collect(g, "ab", sample with { Seed = 10 })).Select(t => t.Id);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var greedy = (await Collect(g, "ab", SamplingOptions.Greedy(16))).Select(t => t.Id);
        var topOne = (await Collect(g, "ab", sample with { TopK = 1 })).Select(t => t.Id);
        Assert.Equal(greedy, topOne);
    }

    [Fact]
    public void Top_p_keeps_only_the_nucleus_and_repetition_penalty_demotes_seen_tokens()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new[] { 0.5f, 0.3f, 0.2f }).log().unsqueeze(0);
        using var nucleus = new LogitsProcessor(new SamplingOptions { TopP = 0.6, Seed = 1 });
        var picks = Enumerable.Range(0, 300).Select(_ => nucleus.Next(logits, null).item<long>()).ToHashSet();
        Assert.Equal(new HashSet<long> { 0, 1 }, picks);

        using var penalised = new LogitsProcessor(new SamplingOptions { Temperature = 0, RepetitionPenalty = 10 });
        var close = torch.tensor(new[] { 2.0f, 1.9f, 0f }).unsqueeze(0);
        Assert.Equal(1, penalised.Next(close, torch.tensor(new long[] { 0 }).unsqueeze(0)).item<long>());
    }

    [Fact]
    public async Task Stop_sequences_end_generation_and_never_reach_the_output()
    {
        using var model = new GptModel(Config, seed: 3);
        var g = new TextGenerator(model, Bytes);
        var free = string.Concat((await Collect(g, "x", SamplingOptions.Greedy(20))).Select(t => t.Text));
        Assert.True(free.Length >= 6, "the model should produce some text");
        var stop = free.Substring(3, 2);
        var cut = string.Concat((await Collect(g, "x", SamplingOptions.Greedy(20) with { Stop = [stop] })).Select(t => t.Text));
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], cut);
        Assert.Equal(FinishReason.Stop, g.LastFinishReason);
    }

    [Fact]
    public async Task Generation_stops_at_a_full_context_and_rejects_a_prompt_longer_than_it()
    {
        using var model = new GptModel(Config, seed: 3);
        var g = new TextGenerator(model, Bytes);
        var tokens = await Collect(g, new string('a', 40), SamplingOptions.Greedy(100));
        Assert.Equal(9, tokens.Count(t => t.Id >= 0)); // 40 prompt + 8 new fill 48 positions, plus the last sampled token
        Assert.Equal(FinishReason.ContextFull, g.LastFinishReason);
        var e = await Assert.ThrowsAsync<UserError>(() => Collect(g, new string('a', 49), SamplingOptions.Greedy(1)));
        Assert.Contains("context is 48", e.Message);
    }

    [Fact]
    public async Task Streamed_text_holds_back_split_utf8_characters()
    {
        using var model = new GptModel(Config, seed: 3);
        var g = new TextGenerator(model, Bytes);
        var tokens = await Collect(g, "你", new SamplingOptions { MaxNewTokens = 30, Temperature = 1, Seed = 4 });
        Assert.Equal(Bytes.Decode(tokens.Where(t => t.Id >= 0).Select(t => t.Id)), string.Concat(tokens.Select(t => t.Text)));
    }
}

public class ParallelSamplerTests
{
    static readonly ByteTokenizer Bytes = new();
    static readonly GptConfig Config = new() { VocabSize = Bytes.VocabSize, ContextLength = 48, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 };

    [Fact]
    public async Task Greedy_rows_equal_the_single_sequence_generator_and_log_probs_match_the_model()
    {
        using var model = new GptModel(Config, seed: 3);
        var prompt = Bytes.Encode("hey");
        var rows = ParallelSampler.Sample(model, Bytes, prompt, count: 3, SamplingOptions.Greedy(10));
        var (_, single, _) = await new TextGenerator(model, Bytes).GenerateAsync("hey", SamplingOptions.Greedy(10));
        Assert.All(rows, r => Assert.Equal(single, r.Tokens));

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var all = torch.tensor(prompt.Concat(rows[0].Tokens).Select(i => (long)i).ToArray()).unsqueeze(0);
        var logProbs = model.Forward(all).log_softmax(-1);
        for (int i = 0; i < rows[0].Tokens.Length; i++)
            Assert.Equal(logProbs[0, prompt.Length - 1 + i, rows[0].Tokens[i]].item<float>(), rows[0].LogProbs[i], 4);
    }

    [Fact]
    public void Sampled_rows_differ_and_each_stops_on_its_own()
    {
        using var model = new GptModel(Config, seed: 3);
        var rows = ParallelSampler.Sample(model, Bytes, Bytes.Encode("a"), count: 8, new SamplingOptions { MaxNewTokens = 12, Temperature = 2.0, Seed = 5 });
        Assert.True(rows.Select(r => string.Join(",", r.Tokens)).Distinct().Count() > 1);
        var stop = rows[0].Tokens[2];
        var stopped = ParallelSampler.Sample(model, Bytes, Bytes.Encode("a"), count: 8, new SamplingOptions { MaxNewTokens = 12, Temperature = 2.0, Seed = 5, StopTokens = [stop] });
        Assert.Equal(rows[0].Tokens[..2], stopped[0].Tokens);
        Assert.Equal(FinishReason.Stop, stopped[0].Reason);
        Assert.All(stopped, r => Assert.DoesNotContain(stop, r.Tokens));
    }
}
