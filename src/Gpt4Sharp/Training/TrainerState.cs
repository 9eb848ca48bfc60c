using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Gpt4Sharp.Training;

/// <summary>One point of a loss curve.</summary>
public readonly record struct LossPoint(long Step, double Loss);

/// <summary>
/// Everything besides weights and optimiser moments that a resumed run needs to continue as if
/// never stopped; saved as <c>trainer_state.json</c>. Batches need no state here because they
/// are a pure function of (seed, step); <see cref="Extra"/> holds any other counters.
/// The trainer updates it in place as steps complete.
/// </summary>
public sealed record TrainerState
{
    /// <summary>Optimiser steps completed.</summary>
    public long Step { get; set; }
    public long TokensSeen { get; set; }
    public long Seed { get; init; }
    public double TrainSeconds { get; set; }
    public double? BestValLoss { get; set; }
    public List<LossPoint> LossHistory { get; init; } = [];
    public List<LossPoint> ValLossHistory { get; init; } = [];

    /// <summary>The newest validation loss measured after training began; null when a run stopped before its first evaluation.</summary>
    [JsonIgnore]
    public double? LatestValidationLoss => ValLossHistory.Count > 0 && ValLossHistory[^1].Step > 0 ? ValLossHistory[^1].Loss : null;
    /// <summary>Any further state (RNG counters, curriculum cursor) as JSON.</summary>
    public JsonObject? Extra { get; init; }
}

/// <summary>A snapshot for a progress display.</summary>
public sealed record TrainProgress(
    long Step, int Steps, double Loss, double LearningRate, double TokensPerSecond, double? Mfu,
    TimeSpan Eta, double? ValidationLoss, double GradientNorm);
