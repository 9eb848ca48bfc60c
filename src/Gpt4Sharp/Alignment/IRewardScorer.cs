namespace Gpt4Sharp.Alignment;

/// <summary>
/// A scalar judgement of responses to prompts. PPO's reward adds several of these (the learned
/// reward model's score and the rule-based reward model's reward) before the KL penalty.
/// </summary>
public interface IRewardScorer
{
    /// <summary>Short name for logs and reports, e.g. "rm" or "rbrm".</summary>
    string Name { get; }

    /// <summary>
    /// Whether a score means the same on every prompt (a rubric's fixed reward per class), so replies to
    /// different prompts may be baselined against each other; a learned reward model's level differs from
    /// prompt to prompt, so its replies are compared only with other replies to the same prompt.
    /// </summary>
    bool ComparableAcrossPrompts => false;

    /// <summary>One reward per (prompt, response) pair, in order.</summary>
    IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs);
}
