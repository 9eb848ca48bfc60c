using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Model;

public sealed class BatchedDecodingTests
{
    static GptConfig Config(AttentionKind kind, int kvHeads = 2, ModelArchitecture architecture = ModelArchitecture.Llama) => new()
    {
        Architecture = architecture, VocabSize = 50, ContextLength = 40, DModel = 32, Layers = 2, Heads = 4, KvHeads = kvHeads, FfnHidden = 64,
        Attention = kind, SparseBlock = kind == AttentionKind.Dense ? 0 : 4,
    };

    /// <summary>Logits of the last token of <paramref name="tokens"/> decoded alone: prompt through a KvCache, then one token at a time.</summary>
    static float[] Alone(GptModel model, int[] tokens)
    {
        using var scope = torch.NewDisposeScope();
        using var cache = model.NewCache();
        model.Forward(Ids(tokens[..^1]), cache);
        return model.Forward(Ids(tokens[^1..]), cache).select(1, -1).squeeze(0).to(ScalarType.Float32).data<float>().ToArray();
    }

    static Tensor Ids(int[] ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);

    [Theory]
    [InlineData(AttentionKind.Dense, 4)]
    [InlineData(AttentionKind.Dense, 2)]
    [InlineData(AttentionKind.SparseStrided, 4)]
    [InlineData(AttentionKind.SparseFixed, 2)]
    [InlineData(AttentionKind.Dense, 4, ModelArchitecture.Gpt2)] // learned per-row positions instead of RoPE
    public void Rows_at_different_positions_decode_as_they_would_alone(AttentionKind kind, int kvHeads, ModelArchitecture architecture = ModelArchitecture.Llama)
    {
        using var model = new GptModel(Config(kind, kvHeads, architecture), seed: 3);
        model.eval();
        using var inference = torch.inference_mode();
        var rng = new Random(9);
        // Prompts of very different lengths, placed in scattered slots, decoded together for several steps.
        int[] lengths = [3, 17, 9, 30];
        int[] slots = [4, 0, 2, 5];
        var sequences = lengths.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(50)).ToList()).ToArray();

        using var decoder = new BatchedDecoder(model);
        using var cache = decoder.NewCache(slots: 6);
        for (int r = 0; r < slots.Length; r++) decoder.Prefill(cache, slots[r], sequences[r]).Dispose();
        for (int step = 0; step < 4; step++)
        {
            var next = sequences.Select(_ => rng.Next(50)).ToArray();
            for (int r = 0; r < slots.Length; r++) sequences[r].Add(next[r]);
            using var logits = decoder.Decode(cache, slots, next);
            for (int r = 0; r < slots.Length; r++)
            {
                Assert.Equal(sequences[r].Count, cache.Length(slots[r]));
                var batched = logits[r].data<float>().ToArray();
                var alone = Alone(model, [.. sequences[r]]);
                for (int v = 0; v < alone.Length; v++) Assert.True(Math.Abs(batched[v] - alone[v]) < 1e-4, $"row {r} step {step} token {v}: {batched[v]} vs {alone[v]}");
            }
        }
    }

    [Fact]
    public void Prefill_after_a_kept_prefix_and_copied_slots_match_a_fresh_run()
    {
        using var model = new GptModel(Config(AttentionKind.Dense), seed: 4);
        model.eval();
        using var inference = torch.inference_mode();
        int[] first = [1, 2, 3, 4, 5, 6, 7, 8];
        int[] second = [1, 2, 3, 4, 5, 20, 21];

        using var decoder = new BatchedDecoder(model);
        using var cache = decoder.NewCache(slots: 3);
        decoder.Prefill(cache, 1, first).Dispose();
        cache.Truncate(1, 5); // keep the shared prefix 1..5, continue with the second sequence's rest
        using var reused = decoder.Prefill(cache, 1, second[5..]);
        cache.CopySlot(1, 2);
        using var copied = decoder.Decode(cache, [2], [9]);

        var expectReused = Alone(model, second);
        var expectCopied = Alone(model, [.. second, 9]);
        var got = reused[0].data<float>().ToArray();
        var gotCopied = copied[0].data<float>().ToArray();
        for (int v = 0; v < expectReused.Length; v++)
        {
            Assert.True(Math.Abs(got[v] - expectReused[v]) < 1e-4);
            Assert.True(Math.Abs(gotCopied[v] - expectCopied[v]) < 1e-4);
        }
    }
}
