namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>The learned reward model as one of PPO's reward terms: normalised scores (0 = an average reply) times <paramref name="weight"/>.</summary>
public sealed class RewardModelScorer(LearnedRewardModel model, string name = "rm", double weight = 1.0) : IRewardScorer
{
    public string Name { get; } = name;
    public LearnedRewardModel Model { get; } = model;
    public double Weight { get; } = weight;

    public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) => [.. Model.Score(pairs).Select(s => Weight * s)];
}
