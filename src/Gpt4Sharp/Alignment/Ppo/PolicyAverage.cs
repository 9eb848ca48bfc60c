using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// An exponential moving average of the policy's weights over PPO steps (<see cref="PpoSettings.PolicyAverageDecay"/>):
/// after every step, average ← d·average + (1 − d)·policy. Rollouts and updates use the live policy; the saved policy and the
/// after-probe use the average, which smooths out the last steps' noise in the way Polyak averaging and stochastic weight
/// averaging (Izmailov et al. 2018) do. It starts from the fine-tuned weights, whose share after n steps is dⁿ.
/// </summary>
public sealed class PolicyAverage(GptModel average, double decay)
{
    /// <summary>Where the average is kept for --resume, inside the run's PPO state.</summary>
    public const string StateDirectory = "average";

    /// <summary>The averaged weights, a model of the policy's shape (its owner disposes it).</summary>
    public GptModel Model { get; } = average;

    /// <summary>Moves the average toward the policy's current weights.</summary>
    public void Update(GptModel policy)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var (a, p) in Model.parameters().Zip(policy.parameters()))
            a.mul_(decay).add_(p, alpha: 1 - decay);
    }

    public void Save(string stateDirectory, JsonObject config, TrainerState state, RunInfo run) =>
        new CheckpointStore(Path.Combine(stateDirectory, StateDirectory), keepLast: 1).Save(Model, config, null, state, run);

    /// <summary>
    /// Loads the average saved with the PPO state in <paramref name="stateDirectory"/> after <paramref name="step"/> steps; a
    /// resumed run without one, or with one of another step (a stop between the two saves), is an error.
    /// </summary>
    public void Restore(string stateDirectory, int step, Action<string>? warn = null)
    {
        var loaded = new CheckpointStore(Path.Combine(stateDirectory, StateDirectory), keepLast: 1).LoadLatest(Model, null, warn);
        if (loaded?.Step != step)
            throw new UserError($"{stateDirectory} holds no averaged policy of step {step} to resume with; start a new run in another --out directory.");
    }
}
