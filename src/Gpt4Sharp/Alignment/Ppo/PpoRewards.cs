using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Runtime;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>The reward terms a PPO run's settings name, built the same way for a fresh and a resumed run.</summary>
public static class PpoRewards
{
    /// <summary>
    /// Each reward model of <see cref="PpoSettings.RewardModels"/> (normalised scores, named rm or
    /// rm1, rm2, ...) and, when <see cref="PpoSettings.RuleBasedReward"/>, the rule-based reward
    /// model with <see cref="PpoSettings.Rubric"/>, and with <see cref="PpoSettings.ClosedDomainRewardWeight"/> the
    /// closed-domain reward on the knowledge practice prompts of <see cref="PpoSettings.ClosedDomainRewardKinds"/>. The caller disposes the result.
    /// </summary>
    public static PpoRewardSet Load(PpoSettings settings, Action<string>? warn = null)
    {
        if (settings.RewardModels.Count == 0 && !settings.RuleBasedReward && settings.ClosedDomainRewardWeight == 0)
            throw new UserError("PPO needs a reward: pass --rm with a directory from `gpt4sharp rm train`, or keep --rbrm on.");
        var device = TorchRuntime.ParseDevice(settings.Device);
        var set = new PpoRewardSet();
        try
        {
            for (int i = 0; i < settings.RewardModels.Count; i++)
                set.Add(new RewardModelScorer(LearnedRewardModel.Load(settings.RewardModels[i], device, warn), settings.RewardModels.Count == 1 ? "rm" : $"rm{i + 1}", settings.RewardModelWeight));
            if (settings.RuleBasedReward) set.Add(RuleBasedRewardModel.Load(settings.Rubric));
            if (settings.ClosedDomainRewardWeight > 0)
                set.Add(new ClosedDomainReward(PpoTrainer.PracticeItems("knowledge", settings.Seed, settings.PromptsPerFamily), settings.ClosedDomainRewardWeight, settings.ClosedDomainRewardKinds));
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }
}

/// <summary>Reward scorers that own native reward models; disposing frees them.</summary>
public sealed class PpoRewardSet : List<IRewardScorer>, IDisposable
{
    public void Dispose()
    {
        foreach (var scorer in this.OfType<RewardModelScorer>()) scorer.Model.Dispose();
    }
}
