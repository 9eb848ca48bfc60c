namespace Gpt4Sharp.Alignment;

/// <summary>
/// A scalar judgement of responses to prompts. PPO's reward adds several of these (the learned
/// reward model's score and the rule-based reward model's reward) before the KL penalty.
/// </summary>
public interface IRewardScorer
{
    /// <summary>Short name for logs and reports, e.g. "rm" or "rbrm".</summary>
    string Name { get; }

    /// <summary>One reward per (prompt, response) pair, in order.</summary>
    IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs);
}
