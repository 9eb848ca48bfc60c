namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// The KL coefficient β of Ziegler et al. (2019): after each batch, β is multiplied by
/// 1 + e·n/horizon where e = clip(KL/target − 1, −0.2, 0.2) and n is the number of rollouts,
/// so β grows while the policy drifts further than the target from the reference model and
/// shrinks while it stays closer.
/// </summary>
public sealed class AdaptiveKlController
{
    public double Coefficient { get; private set; }
    public double Target { get; }
    public double Horizon { get; }

    public AdaptiveKlController(double initial, double target, double horizon)
    {
        if (initial < 0 || !double.IsFinite(initial)) throw new UserError($"The initial KL coefficient must be 0 or more (got {initial}).");
        if (target <= 0) throw new UserError($"The KL target must be positive (got {target}).");
        if (horizon <= 0) throw new UserError($"The KL horizon must be positive (got {horizon}).");
        (Coefficient, Target, Horizon) = (initial, target, horizon);
    }

    /// <summary>Sets β to where a resumed run left it.</summary>
    public void ContinueFrom(double coefficient)
    {
        if (coefficient < 0 || !double.IsFinite(coefficient)) throw new UserError($"A saved KL coefficient must be 0 or more (got {coefficient}); the PPO state is damaged, so start a new run.");
        Coefficient = coefficient;
    }

    /// <summary>Updates β from the mean per-sequence KL of a batch of <paramref name="rollouts"/> sequences.</summary>
    public void Update(double meanKl, int rollouts)
    {
        double error = Math.Clamp(meanKl / Target - 1, -0.2, 0.2);
        Coefficient *= 1 + error * rollouts / Horizon;
    }
}
