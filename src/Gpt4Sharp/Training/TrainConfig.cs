namespace Gpt4Sharp.Training;

/// <summary>
/// Optimisation settings for one training run. AdamW with decoupled weight decay on
/// matrices only (not on norms or embeddings), linear warmup then cosine decay to
/// <see cref="MinLearningRateRatio"/>·peak, global-norm gradient clipping, gradient accumulation.
/// </summary>
public sealed record TrainConfig
{
    public int Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 16;
    public int SequenceLength { get; init; } = 128;
    /// <summary>Micro-batches per optimiser step; the effective batch is BatchSize × this.</summary>
    public int GradientAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 3e-3;
    public double MinLearningRateRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 50;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    /// <summary>Global gradient-norm limit; 0 turns clipping off.</summary>
    public double GradientClip { get; init; } = 1.0;
    /// <summary>Validation loss every N steps (and at the end); 0 turns it off.</summary>
    public int EvalEvery { get; init; } = 100;
    public int EvalBatches { get; init; } = 8;
    /// <summary>Checkpoint every N steps (and at the end); 0 checkpoints only at the end.</summary>
    public int CheckpointEvery { get; init; } = 500;
    public long Seed { get; init; } = 1337;
    /// <summary>bf16 weights and activations with fp32 master weights in the optimiser (mixed precision).</summary>
    public bool Bf16 { get; init; }

    public long TokensPerStep => (long)BatchSize * SequenceLength * GradientAccumulation;

    public TrainConfig Validate(int contextLength)
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid training setting: {what}."); }
        Require(Steps >= 1, $"steps must be positive (got {Steps})");
        Require(BatchSize >= 1, $"batch size must be positive (got {BatchSize})");
        Require(SequenceLength >= 1 && SequenceLength <= contextLength, $"sequence length must be between 1 and the model's context {contextLength} (got {SequenceLength})");
        Require(GradientAccumulation >= 1, $"gradient accumulation must be positive (got {GradientAccumulation})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"learning rate must be positive (got {LearningRate})");
        Require(MinLearningRateRatio >= 0 && MinLearningRateRatio <= 1, $"minimum learning-rate ratio must be in [0, 1] (got {MinLearningRateRatio})");
        Require(WarmupSteps >= 0, $"warmup steps must be 0 or more (got {WarmupSteps})");
        Require(WeightDecay >= 0, $"weight decay must be 0 or more (got {WeightDecay})");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"Adam betas must be in [0, 1) (got {Beta1}, {Beta2})");
        Require(GradientClip >= 0, $"gradient clip must be 0 (off) or positive (got {GradientClip})");
        Require(EvalEvery >= 0 && EvalBatches >= 1, "eval interval must be 0 or more and eval batches positive");
        Require(CheckpointEvery >= 0, $"checkpoint interval must be 0 or more (got {CheckpointEvery})");
        return this;
    }

    /// <summary>Learning rate at <paramref name="step"/> (0-based): linear warmup, then cosine down to the floor.</summary>
    public double LearningRateAt(int step)
    {
        if (step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        double progress = Steps <= WarmupSteps ? 1 : (double)(step - WarmupSteps) / (Steps - WarmupSteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
        double floor = LearningRate * MinLearningRateRatio;
        return floor + (LearningRate - floor) * cosine;
    }
}
