namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>The learned reward model as one of PPO's reward terms: normalised scores (0 = an average reply).</summary>
public sealed class RewardModelScorer(LearnedRewardModel model, string name = "rm") : IRewardScorer
{
    public string Name { get; } = name;
    public LearnedRewardModel Model { get; } = model;

    public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) => Model.Score(pairs);
}
