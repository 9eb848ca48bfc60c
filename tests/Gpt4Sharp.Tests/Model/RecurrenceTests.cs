using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Model;

public class RecurrenceTests
{
    static readonly GptConfig Recurrent = new()
    {
        VocabSize = 16, ContextLength = 8, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64,
        Attention = AttentionKind.Recurrent, MemoryLength = 8,
    };

    [Fact]
    public void A_segment_with_the_whole_prefix_in_memory_equals_the_full_forward()
    {
        using var scope = torch.NewDisposeScope();
        var config = Recurrent with { Layers = 2, ContextLength = 24, MemoryLength = 16, KvHeads = 1 };
        using var model = new GptModel(config);
        model.eval();
        using var noGrad = torch.no_grad();
        var tokens = torch.randint(0, 16, [2, 24], generator: new Generator(3));
        var full = model.Forward(tokens);
        using var memory = model.NewMemory();
        var pieces = new[] { model.ForwardSegment(tokens.narrow(1, 0, 8), memory), model.ForwardSegment(tokens.narrow(1, 8, 8), memory), model.ForwardSegment(tokens.narrow(1, 16, 8), memory) };
        Assert.Equal(16, memory.Length);
        var diff = (full - torch.cat(pieces, 1)).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"max difference {diff}");
    }

    [Fact]
    public void With_memory_a_later_segment_depends_on_the_previous_one_and_no_gradient_flows_into_it()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new GptModel(Recurrent);
        var first = torch.randint(0, 16, [1, 8], generator: new Generator(4));
        var changed = first.clone();
        changed[0, 2] = (first[0, 2] + 1).remainder(16);
        var second = torch.randint(0, 16, [1, 8], generator: new Generator(5));

        Tensor SecondLogits(Tensor previous, bool carry)
        {
            using var memory = model.NewMemory();
            using (torch.no_grad()) model.ForwardSegment(previous, memory);
            if (!carry) memory.Clear();
            var logits = model.ForwardSegment(second, memory);
            Assert.All(Enumerable.Range(0, Recurrent.Layers), _ => Assert.Equal(8, memory.Length));
            return logits;
        }
        Assert.True((SecondLogits(first, carry: true) - SecondLogits(changed, carry: true)).abs().max().item<float>() > 1e-4);
        Assert.Equal(0f, (SecondLogits(first, carry: false) - SecondLogits(changed, carry: false)).abs().max().item<float>());

        // The memory is a constant for the second segment: its loss back-propagates into the weights only.
        using var carried = model.NewMemory();
        model.ForwardSegment(first, carried);
        var loss = model.ForwardSegment(second, carried).sum();
        loss.backward();
        Assert.NotNull(model.parameters().First().grad);
    }

    /// <summary>
    /// Every second segment repeats the one before: only a model that carries memory across
    /// segment boundaries can predict it. A short training run shows the memory being used.
    /// </summary>
    [Fact]
    public void Training_over_consecutive_segments_learns_to_use_the_memory()
    {
        using var scope = torch.NewDisposeScope();
        var rng = new Random(7);
        var documents = Enumerable.Range(0, 64).Select(_ =>
        {
            var block = Enumerable.Range(0, 8).Select(_ => rng.Next(8)).ToArray();
            return block.Concat(block).ToArray();
        }).ToList();
        var data = new SegmentStream(documents, batch: 8, segmentLength: 8);
        using var model = new GptModel(Recurrent, seed: 2);
        // Tensors this small run several times faster on one thread than on a busy pool.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        float[] losses;
        try { losses = SegmentTraining.Train(model, data, steps: 300, learningRate: 4e-3); }
        finally { torch.set_num_threads(threads); }
        double withMemory = SegmentTraining.Evaluate(model, data, 16, useMemory: true);
        double without = SegmentTraining.Evaluate(model, data, 16, useMemory: false);
        Assert.True(losses.Take(20).Average() > losses.TakeLast(20).Average());
        Assert.True(withMemory < without - 0.3, $"loss with memory {withMemory:F3}, without {without:F3}");
    }

    [Fact]
    public void Document_segments_end_on_the_last_token_and_mask_unlearned_targets()
    {
        // Two 10-token documents (9 input positions) in 4-token segments: 1 + 4 + 4, the last ending on token 8.
        var docs = Enumerable.Range(0, 2).Select(d => (Enumerable.Range(10 * d, 10).ToArray(), Enumerable.Range(0, 10).Select(i => i >= 8).ToArray()));
        var data = new DocumentSegments(docs, batch: 2, segmentLength: 4, seed: 1);
        Assert.Equal(1, data.BatchesPerPass);
        var segments = data.Batch(0);
        Assert.Equal([1L, 4, 4], segments.Select(s => s.Input.shape[1]));
        Assert.Equal([5L, 6, 7, 8, 15, 16, 17, 18], segments[2].Input.flatten().data<long>().Order());
        Assert.Equal([-100L, -100, -100, -100, 8, 9, 18, 19], segments[2].Target.flatten().data<long>().Order());
        Assert.All(segments.Take(2), s => Assert.Equal(-100L, s.Target.max().item<long>()));
        Assert.Contains("two tokens", Assert.Throws<UserError>(() => new DocumentSegments([([1], [true])], 1, 4)).Message);
    }

    /// <summary>
    /// Each document states a value, then filler, then asks for it: the value lies two segments before
    /// the answer, so the same trained weights can recall it only while carrying the memory.
    /// </summary>
    [Fact]
    public void A_model_trained_with_memory_recalls_a_value_from_an_earlier_segment_and_fails_without_it()
    {
        using var scope = torch.NewDisposeScope();
        const int Values = 8, Fact = 14, Ask = 15; // tokens 8..13 are filler
        var rng = new Random(11);
        (int[] Ids, bool[] Learn) Document()
        {
            int value = rng.Next(Values);
            var ids = new[] { Fact, value }.Concat(Enumerable.Range(0, 6).Select(_ => Values + rng.Next(6))).Concat([Ask, value]).ToArray();
            return (ids, ids.Select((_, i) => i == ids.Length - 1).ToArray());
        }
        var config = Recurrent with { ContextLength = 4, MemoryLength = 8 };
        using var model = new GptModel(config, seed: 5);
        var losses = SegmentTraining.TrainDocuments(model, new DocumentSegments(Enumerable.Range(0, 512).Select(_ => Document()), batch: 32, segmentLength: 4, seed: 3),
            steps: 150, learningRate: 1e-2, warmupSteps: 10);

        var test = Enumerable.Range(0, 64).Select(_ => Document()).ToList();
        double Accuracy(bool carryMemory)
        {
            using var noGrad = torch.no_grad();
            using var memory = model.NewMemory();
            var inputs = torch.tensor(test.SelectMany(d => d.Ids.Take(9)).Select(i => (long)i).ToArray(), [test.Count, 9]);
            Tensor logits = null!;
            foreach (var (start, length) in new[] { (0, 1), (1, 4), (5, 4) }) // the last segment holds filler and the question only
            {
                if (!carryMemory) memory.Clear();
                logits = model.ForwardSegment(inputs.narrow(1, start, length), memory);
            }
            var predicted = logits.select(1, -1).argmax(-1).data<long>().ToArray();
            return test.Where((d, i) => predicted[i] == d.Ids[^1]).Count() / (double)test.Count;
        }
        double with = Accuracy(carryMemory: true), without = Accuracy(carryMemory: false);
        Assert.True(losses.TakeLast(10).Average() < losses.Take(10).Average());
        Assert.True(with >= 0.9 && without <= 0.35, $"recall with memory {with:P0}, without {without:P0} (chance {1.0 / Values:P0})");
    }

    [Fact]
    public void Attention_kind_round_trips_through_config_json_and_is_validated()
    {
        foreach (var config in new[] { Recurrent, Recurrent with { Attention = AttentionKind.SparseFixed, SparseBlock = 4, SparseSummary = 2, MemoryLength = 0 }, Recurrent with { Attention = AttentionKind.SparseStrided, MemoryLength = 0 } })
            Assert.Equal(config, GptConfig.FromHuggingFace(config.ToHuggingFace()));
        Assert.False(new GptConfig().ToHuggingFace().ContainsKey(GptConfig.AttentionKey));
        Assert.Contains("memory length", Assert.Throws<UserError>(() => (Recurrent with { MemoryLength = 0 }).Validate()).Message);
        Assert.Contains("summary", Assert.Throws<UserError>(() => (Recurrent with { Attention = AttentionKind.SparseFixed, SparseBlock = 4, SparseSummary = 5 }).Validate()).Message);
        var json = Recurrent.ToHuggingFace();
        json[GptConfig.AttentionKey] = "banded";
        Assert.Contains("sparse_strided", Assert.Throws<UserError>(() => GptConfig.FromHuggingFace(json)).Message);
    }
}
