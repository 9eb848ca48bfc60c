using System.Text.Json.Nodes;

namespace Gpt4Sharp.Checkpoints;

/// <summary>One point of a loss curve.</summary>
public readonly record struct LossPoint(long Step, double Loss);

/// <summary>
/// Everything besides weights and optimizer moments that a resumed run needs to continue as if
/// never stopped; saved as <c>trainer_state.json</c>. Batches need no state here because the
/// sampler is a pure function of (seed, step); <see cref="Extra"/> holds any other counters.
/// </summary>
public sealed record TrainerState
{
    /// <summary>Optimizer steps completed.</summary>
    public required long Step { get; init; }
    public long TokensSeen { get; init; }
    public long Seed { get; init; }
    public double? BestValLoss { get; init; }
    public IReadOnlyList<LossPoint> LossHistory { get; init; } = [];
    public IReadOnlyList<LossPoint> ValLossHistory { get; init; } = [];
    /// <summary>Any further state (RNG counters, schedule position, curriculum cursor) as JSON.</summary>
    public JsonObject? Extra { get; init; }
}
