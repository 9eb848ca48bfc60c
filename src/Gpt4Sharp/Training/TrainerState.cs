namespace Gpt4Sharp.Training;

/// <summary>Everything besides weights and optimiser moments that a resumed run needs, saved as trainer_state.json.</summary>
public sealed record TrainerState
{
    /// <summary>Optimiser steps completed.</summary>
    public int Step { get; set; }
    public long TokensSeen { get; set; }
    public double TrainSeconds { get; set; }
    public List<LossPoint> TrainLoss { get; init; } = [];
    public List<LossPoint> ValidationLoss { get; init; } = [];
}

public readonly record struct LossPoint(int Step, double Loss);

/// <summary>A snapshot for a progress display.</summary>
public sealed record TrainProgress(
    int Step, int Steps, double Loss, double LearningRate, double TokensPerSecond, double? Mfu,
    TimeSpan Eta, double? ValidationLoss, double GradientNorm);
