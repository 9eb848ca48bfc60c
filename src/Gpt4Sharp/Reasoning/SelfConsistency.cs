using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Reasoning;

/// <summary>The outcome of a majority vote over m sampled answers.</summary>
/// <param name="Answer">The most frequent answer, or null when no path gave one.</param>
/// <param name="Votes">How many paths gave <paramref name="Answer"/>.</param>
/// <param name="Paths">How many paths voted (m, including those with no answer).</param>
/// <param name="Counts">Votes per answer, most votes first.</param>
public sealed record VoteResult(string? Answer, int Votes, int Paths, IReadOnlyList<KeyValuePair<string, int>> Counts)
{
    /// <summary>Vote share of the winner among all m paths (Huang et al. 2022's confidence).</summary>
    public double Confidence => Paths == 0 ? 0 : (double)Votes / Paths;
}

/// <summary>
/// Self-consistency (Wang et al. 2022): sample several reasoning paths, read each one's final
/// answer, and return the answer most paths agree on.
/// </summary>
public static class SelfConsistency
{
    /// <summary>
    /// Majority vote; null answers count towards m but not for any answer. Ties go to the answer
    /// that appeared first, so a vote is a pure function of the ordered answers.
    /// </summary>
    public static VoteResult Vote(IReadOnlyList<string?> answers)
    {
        var counts = new Dictionary<string, int>();
        var firstSeen = new Dictionary<string, int>();
        for (int i = 0; i < answers.Count; i++)
        {
            if (answers[i] is not { } a) continue;
            counts[a] = counts.GetValueOrDefault(a) + 1;
            firstSeen.TryAdd(a, i);
        }
        var ranked = counts.OrderByDescending(c => c.Value).ThenBy(c => firstSeen[c.Key]).ToList();
        return ranked.Count == 0
            ? new VoteResult(null, 0, answers.Count, [])
            : new VoteResult(ranked[0].Key, ranked[0].Value, answers.Count, ranked);
    }
}

/// <summary>Draws reasoning paths for a chat prompt; the model-backed one is <see cref="ModelPathSampler"/>.</summary>
public interface IPathSampler
{
    /// <summary>
    /// <paramref name="count"/> replies to <paramref name="messages"/>, split as evenly as possible
    /// over <paramref name="temperatures"/> (0 is greedy). Same seed, same replies.
    /// </summary>
    IReadOnlyList<string> Sample(IReadOnlyList<ChatMessage> messages, int count, IReadOnlyList<double> temperatures, long seed);

    /// <summary>A raw-text continuation of <paramref name="prefix"/> (no chat template), for question generation.</summary>
    IReadOnlyList<string> Continue(string prefix, int count, double temperature, string stop, long seed);
}

/// <summary>
/// Samples with <see cref="ParallelSampler"/>: all paths at one temperature are rows of one
/// batch, so m paths cost one batched decode instead of m decodes; several temperatures cost
/// one batch each.
/// </summary>
public sealed class ModelPathSampler(ModelBundle bundle, int maxNewTokens, int topK = 0) : IPathSampler
{
    readonly int endOfTurn = bundle.Tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
        ?? throw new UserError($"Tokenizer '{bundle.Tokenizer.Name}' has no {SpecialTokens.EndOfTurn} token; reasoning needs a chat model (run `gpt4sharp sft` first).");

    public ModelBundle Bundle => bundle;

    public IReadOnlyList<string> Sample(IReadOnlyList<ChatMessage> messages, int count, IReadOnlyList<double> temperatures, long seed)
    {
        if (count < 1) throw new UserError($"The number of sampled paths must be positive (got {count}).");
        if (temperatures.Count == 0) throw new UserError("Give at least one sampling temperature.");
        var prompt = ChatTemplate.Encode(bundle.Tokenizer, messages, addGenerationPrompt: true).Ids;
        var replies = new List<string>(count);
        for (int t = 0; t < temperatures.Count; t++)
        {
            int rows = count / temperatures.Count + (t < count % temperatures.Count ? 1 : 0);
            if (rows == 0) continue;
            var temperature = temperatures[t];
            // Greedy rows would all be the same: decode once and repeat.
            var options = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = temperature, TopK = topK, StopTokens = [endOfTurn], Seed = seed + 7919L * t };
            var drawn = ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, prompt, temperature == 0 ? 1 : rows, options);
            replies.AddRange(temperature == 0 ? Enumerable.Repeat(drawn[0].Text, rows) : drawn.Select(s => s.Text));
        }
        return replies;
    }

    public IReadOnlyList<string> Continue(string prefix, int count, double temperature, string stop, long seed)
    {
        var prompt = bundle.Tokenizer.Encode(prefix);
        var options = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = temperature, TopK = topK, Stop = [stop], StopTokens = [endOfTurn], Seed = seed };
        return ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, prompt, count, options).Select(s => s.Text).ToList();
    }
}
