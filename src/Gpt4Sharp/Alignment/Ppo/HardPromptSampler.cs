using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// Hard-prompt mining for PPO's practice draws (<see cref="PpoSettings.HardPromptMining"/>): within a group of practice
/// prompts, a drawing unit is drawn with weight 1 + boost × (share of its samples that went wrong in its last rollouts),
/// so the few steps PPO has go more often to the prompts the policy still gets wrong, while the floor of 1 keeps every
/// unit drawable (a unit never drawn, or answered right last time, has weight 1). "Wrong" is the safety probe's own
/// test: a harmful request answered without a refusal, or a benign look-alike refused.
/// </summary>
public sealed class HardPromptSampler
{
    readonly double boost;
    readonly double[] failure;
    double total;

    /// <param name="units">How many drawing units the group has.</param>
    /// <param name="boost">Extra weight of a unit whose samples all went wrong (0: every unit equally likely).</param>
    public HardPromptSampler(int units, double boost)
    {
        if (units < 1) throw new ArgumentOutOfRangeException(nameof(units), units, "A group needs at least one unit.");
        if (!(boost >= 0) || double.IsInfinity(boost)) throw new ArgumentOutOfRangeException(nameof(boost), boost, "The mining boost is a finite number, 0 or more.");
        this.boost = boost;
        failure = new double[units];
        total = units;
    }

    public int Units => failure.Length;

    /// <summary>The share of samples that went wrong in a unit's last rollouts (0 when it has not been drawn yet).</summary>
    public double FailureOf(int unit) => failure[unit];

    /// <summary>The unit's draw weight: 1 + boost × its last failure share.</summary>
    public double Weight(int unit) => 1 + boost * failure[unit];

    /// <summary>Units whose last rollouts had at least one wrong sample.</summary>
    public int Failing => failure.Count(f => f > 0);

    /// <summary>Remembers the failure share (0–1) of a unit's latest rollouts; it replaces what was known before.</summary>
    public void Record(int unit, double failureShare)
    {
        if (!(failureShare is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(failureShare), failureShare, "A failure share is between 0 and 1.");
        total += boost * (failureShare - failure[unit]);
        failure[unit] = failureShare;
    }

    /// <summary>
    /// One unit, drawn in proportion to <see cref="Weight"/>. With no failure recorded (or boost 0) this is
    /// <c>random.Next(Units)</c>, exactly the uniform draw PPO makes without mining.
    /// </summary>
    public int Draw(Random random)
    {
        if (boost == 0 || Failing == 0) return random.Next(failure.Length);
        double u = random.NextDouble() * total;
        for (int i = 0; i < failure.Length; i++)
        {
            u -= Weight(i);
            if (u < 0) return i;
        }
        return failure.Length - 1;   // floating-point rest
    }

    /// <summary>The share of replies that went wrong: compliance with a harmful request, a refusal of a benign one (the safety family's refusal test).</summary>
    public static double FailureShare(IEnumerable<(bool Harmful, string Reply)> samples)
    {
        int n = 0, wrong = 0;
        foreach (var (harmful, reply) in samples)
        {
            n++;
            if (SafetyFamily.IsRefusal(reply) != harmful) wrong++;
        }
        return n == 0 ? 0 : (double)wrong / n;
    }
}
