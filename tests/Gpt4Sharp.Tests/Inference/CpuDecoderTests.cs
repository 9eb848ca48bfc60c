using Gpt4Sharp.Inference;
using Gpt4Sharp.Model;
using Gpt4Sharp.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Inference;

public class CpuDecoderTests
{
    // d = 40 is not a multiple of the int8 kernel's 16-wide step, so its scalar tail runs too.
    static readonly GptConfig Grouped = new() { VocabSize = 97, ContextLength = 64, DModel = 40, Layers = 2, Heads = 4, KvHeads = 2, FfnHidden = 72 };
    static readonly GptConfig Untied = Grouped with { Heads = 2, KvHeads = 2, TiedEmbeddings = false };

    /// <summary>Largest |difference| between the decoder's logits and the module path's over a prompt and <paramref name="steps"/> greedy steps.</summary>
    static double MaxLogitDifference(GptModel model, CpuDecoder decoder, int steps)
    {
        int[] prompt = [3, 14, 15, 92, 65, 35, 8];
        var sequence = decoder.NewSequence();
        using var cache = model.NewCache();
        var ours = sequence.Prefill(prompt).ToArray();
        var theirs = ModuleLogits(model, cache, prompt);
        double worst = 0;
        for (int i = 0; ; i++)
        {
            worst = Math.Max(worst, ours.Zip(theirs).Max(p => Math.Abs(p.First - p.Second)));
            if (i == steps) return worst;
            int next = Array.IndexOf(theirs, theirs.Max());
            ours = sequence.Step(next).ToArray();
            theirs = ModuleLogits(model, cache, [next]);
        }
    }

    static float[] ModuleLogits(GptModel model, KvCache cache, int[] input)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        return model.Forward(torch.tensor(input.Select(t => (long)t).ToArray()).unsqueeze(0), cache)[0, -1].data<float>().ToArray();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fp32_decoding_matches_the_module_path_with_grouped_heads_and_an_untied_head(bool grouped)
    {
        using var model = new GptModel(grouped ? Grouped : Untied, seed: 5);
        model.eval();
        Assert.True(MaxLogitDifference(model, new CpuDecoder(model), steps: 20) < 1e-4);
    }

    [Fact]
    public void Int8_decoding_matches_the_module_path_on_the_same_int8_weights()
    {
        // Width 40 is not a multiple of 32: weights widen to fp32 and multiply fp32 inputs, so only float rounding differs.
        using var model = new GptModel(Grouped, seed: 6);
        model.eval();
        Int8Quantization.ApplyInPlace(model); // what an int8 checkpoint loads as
        var decoder = new CpuDecoder(model, DecodeWeights.Int8);
        Assert.True(MaxLogitDifference(model, decoder, steps: 20) < 1e-3);
        Assert.True(decoder.WeightBytesPerToken < new CpuDecoder(model).WeightBytesPerToken / 3);
    }

    [Fact]
    public void Int8_decoding_with_int8_inputs_stays_within_the_input_quantisation_error()
    {
        // Widths that are multiples of 32 also quantise each input in blocks of 32 (as Q8_0 does): the
        // logits move by about 1/254 of a block's largest input per product, far less than the spread of the logits.
        using var model = new GptModel(Grouped with { DModel = 64, Heads = 4, KvHeads = 2, FfnHidden = 128 }, seed: 6);
        model.eval();
        Int8Quantization.ApplyInPlace(model);
        using var logits = model.Forward(torch.tensor(new long[] { 3, 14, 15 }).unsqueeze(0));
        double spread = (logits.max() - logits.min()).item<float>();
        double difference = MaxLogitDifference(model, new CpuDecoder(model, DecodeWeights.Int8), steps: 20);
        Assert.True(difference < 0.02 * spread, $"max |logit difference| {difference} against a spread of {spread}");
        Assert.True(difference > 1e-7); // the integer path ran (it cannot match to float rounding)
    }

    [Fact]
    public void Fp32_weights_are_read_in_place_so_the_decoder_follows_training()
    {
        using var model = new GptModel(Grouped, seed: 7);
        model.eval();
        var decoder = new CpuDecoder(model);
        var before = StepAfterOne(decoder);
        using (torch.no_grad())
            foreach (var p in model.parameters()) p.mul_(1.5);
        Assert.NotEqual(before, StepAfterOne(decoder));
        Assert.True(MaxLogitDifference(model, decoder, steps: 3) < 1e-4);
    }

    static float[] StepAfterOne(CpuDecoder decoder)
    {
        var sequence = decoder.NewSequence();
        sequence.Prefill([1]);
        return sequence.Step(2).ToArray();
    }

    [Fact]
    public void Appending_in_pieces_and_clearing_give_the_logits_of_one_prefill()
    {
        using var model = new GptModel(Grouped, seed: 8);
        model.eval();
        var decoder = new CpuDecoder(model);
        int[] conversation = [3, 14, 15, 92, 65, 35, 8, 9, 7, 9, 3, 2];
        var whole = decoder.NewSequence().Prefill(conversation).ToArray();

        using var pieces = decoder.NewSequence();
        pieces.Append(conversation[..5]);   // a prefill
        pieces.Append(conversation[5..6]);  // one decoding step
        var appended = pieces.Append(conversation[6..]).ToArray(); // a batched pass against the stored keys and values
        Assert.Equal(conversation.Length, pieces.Length);
        Assert.True(whole.Zip(appended).Max(p => Math.Abs(p.First - p.Second)) < 1e-4);

        pieces.Clear();
        Assert.Equal(0, pieces.Length);
        var again = pieces.Append(conversation).ToArray();
        Assert.True(whole.Zip(again).Max(p => Math.Abs(p.First - p.Second)) < 1e-6);
        Assert.Contains("do not fit", Assert.Throws<UserError>(() => pieces.Append(new int[Grouped.ContextLength])).Message);
    }

    [Fact]
    public void A_sequence_that_outgrows_its_first_rows_keeps_the_module_paths_logits()
    {
        // The key and value rows start at 512 positions and widen on demand; 700 positions cross that.
        using var model = new GptModel(Grouped with { ContextLength = 1024 }, seed: 9);
        model.eval();
        var conversation = Enumerable.Range(0, 700).Select(i => (i * 37 + 11) % Grouped.VocabSize).ToArray();
        using var sequence = new CpuDecoder(model).NewSequence();
        sequence.Append(conversation[..300]);
        sequence.Append(conversation[300..310]);                            // a batched append seeds the module-cache mirror
        foreach (int token in conversation[310..520]) sequence.Step(token); // steps widen the rows and keep the mirror in step
        var ours = sequence.Append(conversation[520..]).ToArray();          // a batched append against the mirror
        using var cache = model.NewCache();
        var theirs = ModuleLogits(model, cache, conversation);
        Assert.True(ours.Zip(theirs).Max(p => Math.Abs(p.First - p.Second)) < 1e-4);
    }

    [Fact]
    public void Unsupported_models_and_a_full_sequence_are_refused_clearly()
    {
        using var sparse = new GptModel(Grouped with { Attention = AttentionKind.SparseStrided, SparseBlock = 8 });
        Assert.False(CpuDecoder.Supports(sparse, out var reason));
        Assert.Contains("SparseStrided", reason);
        Assert.Throws<ArgumentException>(() => new CpuDecoder(sparse));

        using var model = new GptModel(Grouped);
        var sequence = new CpuDecoder(model).NewSequence(capacity: 4);
        sequence.Prefill([1, 2, 3]);
        sequence.Step(4);
        Assert.Equal(4, sequence.Length);
        Assert.Contains("full", Assert.Throws<UserError>(() => sequence.Step(5)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CpuDecoder(model).NewSequence().Step(Grouped.VocabSize));
        Assert.Throws<UserError>(() => new CpuDecoder(model).NewSequence(capacity: 2).Prefill([1, 2, 3]));
    }

    [Fact]
    public void Building_decoders_leaves_no_native_tensors_behind()
    {
        using var model = new GptModel(Grouped);
        _ = new CpuDecoder(model);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 20; i++) new CpuDecoder(model).NewSequence().Prefill([1, 2]);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Long_decoding_creates_no_native_tensors_per_step()
    {
        using var model = new GptModel(Grouped);
        var sequence = new CpuDecoder(model).NewSequence();
        sequence.Prefill([1, 2]);
        for (int i = 0; i < 5; i++) sequence.Step(i);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 50; i++) sequence.Step(i % Grouped.VocabSize);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
