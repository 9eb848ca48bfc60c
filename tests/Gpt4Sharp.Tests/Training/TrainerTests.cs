using Gpt4Sharp.Model;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Tests.Training;

public class TrainerTests
{
    internal static readonly GptConfig Tiny = new() { VocabSize = 64, ContextLength = 32, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 };
    internal static readonly TrainConfig Fast = new() { Steps = 40, BatchSize = 8, SequenceLength = 32, LearningRate = 1e-2, WarmupSteps = 5, EvalEvery = 20, EvalBatches = 2 };

    [Fact]
    public void Training_lowers_validation_loss_on_a_learnable_stream()
    {
        using var model = new GptModel(Tiny);
        using var trainer = new Trainer(model, Fast, new PatternData(64));
        double before = trainer.ValidationLoss();
        Assert.True(trainer.Run());
        double after = trainer.State.ValLossHistory[^1].Loss;
        Assert.True(after < before * 0.5, $"validation loss {before:F3} -> {after:F3}");
        Assert.Equal(40, trainer.State.LossHistory.Count);
        Assert.Equal(Fast.TokensPerStep * 40, trainer.State.TokensSeen);
    }

    [Fact]
    public void Bf16_mixed_precision_trains_with_fp32_master_weights()
    {
        using var model = new GptModel(Tiny);
        using var trainer = new Trainer(model, Fast with { Bf16 = true }, new PatternData(64));
        double before = trainer.ValidationLoss();
        trainer.Run();
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, model.DType);
        Assert.True(trainer.State.ValLossHistory[^1].Loss < before * 0.6);
    }

    [Fact]
    public void Gradient_accumulation_of_two_halves_equals_one_full_batch_step()
    {
        var data = new SplitData(new PatternData(64));
        using var a = new GptModel(Tiny, seed: 1);
        using var b = new GptModel(Tiny, seed: 1);
        using var full = new Trainer(a, Fast with { BatchSize = 8, GradientAccumulation = 1, WarmupSteps = 0 }, data);
        using var halves = new Trainer(b, Fast with { BatchSize = 4, GradientAccumulation = 2, WarmupSteps = 0 }, data);
        var (lossFull, normFull) = full.TrainStep();
        var (lossHalves, normHalves) = halves.TrainStep();
        // A tolerance, not rounding to 4 places: two sums 5e-7 apart can round to different places.
        Assert.Equal(lossFull, lossHalves, tolerance: 1e-4);
        Assert.Equal(normFull, normHalves, tolerance: 1e-4);
        using var scope = torch.NewDisposeScope();
        var diff = a.parameters().Zip(b.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());
        // Adam's first step moves a weight by about lr · g / (|g| + eps): where g is near eps, the two summation orders' last bits
        // can move it by a thousandth of lr (1.4e-5 seen once under load). A lost or doubled half moves weights by about lr (1e-2).
        Assert.True(diff < 1e-4, $"weights differ by {diff}");
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var c = new TrainConfig { Steps = 110, WarmupSteps = 10, LearningRate = 1.0, MinLearningRateRatio = 0.1 };
        Assert.Equal(0.1, c.LearningRateAt(0), 9);
        Assert.Equal(1.0, c.LearningRateAt(9), 9);
        Assert.Equal(1.0, c.LearningRateAt(10), 9);
        Assert.Equal(0.55, c.LearningRateAt(60), 9);
        Assert.Equal(0.1, c.LearningRateAt(110), 9);
    }

    [Fact]
    public void Native_tensor_count_does_not_grow_across_steps()
    {
        using var model = new GptModel(Tiny);
        using var trainer = new Trainer(model, Fast with { Steps = 400, EvalEvery = 0 }, new PatternData(64));
        for (int i = 0; i < 5; i++) trainer.TrainStep(); // optimiser state is created lazily in the first steps
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 120; i++) trainer.TrainStep();
        trainer.ValidationLoss();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Bad_settings_are_one_clear_error()
    {
        using var model = new GptModel(Tiny);
        var e = Assert.Throws<UserError>(() => new Trainer(model, Fast with { SequenceLength = 64 }, new PatternData(64)));
        Assert.Contains("context 32", e.Message);
    }

    /// <summary>Serves batch 8 as one batch, or as two micro-batches of 4 holding the same rows.</summary>
    sealed class SplitData(PatternData inner) : ITrainingData
    {
        public (torch.Tensor Input, torch.Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, torch.Device device)
        {
            var (x, y) = inner.TrainBatch(step, 0, 8, seqLen, device);
            return batchSize == 8 ? (x, y) : (x.narrow(0, microBatch * 4, 4), y.narrow(0, microBatch * 4, 4));
        }

        public IEnumerable<(torch.Tensor Input, torch.Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, torch.Device device) =>
            inner.ValidationBatches(batchSize, seqLen, maxBatches, device);
    }
}
