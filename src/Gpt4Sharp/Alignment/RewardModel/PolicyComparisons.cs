using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>
/// Comparison pairs made from the policy's own replies. The curriculum's pairs put reference wording on
/// both sides, and a reward model trained only on them ranks a well-formed refusal above the policy's
/// own helpful but imperfect answer to a benign request, which pushes PPO towards over-refusal. Here the
/// fine-tuned model samples several replies to each training-split safety request, as PPO's rollouts do
/// (same system prompt, temperature 1), and the rule-based reward model ranks them with the request's
/// known kind: the reply it rewards more is chosen, each reply it rewards less is rejected. Replies with
/// equal rewards give no pair. Only training-split requests are used, so every pair is a training pair.
/// </summary>
public static class PolicyComparisons
{
    public const string HarmfulSource = "policy/safety_harmful";
    public const string BenignSource = "policy/safety_benign";

    /// <summary>Samples <paramref name="samples"/> replies to each of <paramref name="prompts"/> training-split safety requests and ranks them.</summary>
    /// <param name="harmfulShare">Share of the requests that are harmful, the rest benign; null keeps the safety family's own mix.</param>
    public static IReadOnlyList<ComparisonPair> Build(GptModel policy, ITokenizer tokenizer, RuleBasedRewardModel rbrm, long seed, int prompts,
        int samples = 4, int maxNewTokens = 48, string systemPrompt = PpoSettings.DefaultSystemPrompt, IProgress<int>? progress = null, CancellationToken cancel = default,
        double? harmfulShare = null)
    {
        if (harmfulShare is < 0 or > 1) throw new UserError($"The harmful share of policy-pair requests must be between 0 and 1 (got {harmfulShare}).");
        if (samples < 2) throw new UserError($"Policy pairs compare replies to the same request, so at least 2 samples per request are needed (got {samples}).");
        var end = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
            ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {SpecialTokens.EndOfTurn} token; sample policy pairs from a model fine-tuned with `gpt4sharp sft`.");
        var pairs = new List<ComparisonPair>();
        int done = 0;
        foreach (var item in Requests(seed, prompts, harmfulShare))
        {
            cancel.ThrowIfCancellationRequested();
            var ids = PpoTrainer.PromptIds(tokenizer, item.Prompt, systemPrompt, policy.Config.ContextLength - maxNewTokens);
            var options = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = 1.0, StopTokens = [end], Seed = seed + 7919L * done };
            var replies = ParallelSampler.Sample(policy, tokenizer, ids, samples, options, cancel).Select(s => s.Text.Trim()).ToList();
            var kind = item.Kind == "harmful" ? PromptKind.Harmful : PromptKind.Benign;
            pairs.AddRange(Rank(item.Prompt, kind, replies, rbrm));
            progress?.Report(++done);
        }
        return pairs;
    }

    /// <summary>The training-split safety requests the policy pairs are sampled on, in order.</summary>
    public static IEnumerable<CurriculumItem> Requests(long seed, int prompts, double? harmfulShare = null)
    {
        var safety = CurriculumRegistry.Get("safety");
        if (harmfulShare is not { } share) return safety.Generate(seed, Split.Train, prompts);
        int harmful = (int)Math.Round(prompts * share);
        // The family draws about as many harmful as benign requests, so four times the count holds enough of each kind.
        var pool = safety.Generate(seed, Split.Train, 4 * prompts).ToList();
        return pool.Where(i => i.Kind == "harmful").Take(harmful).Concat(pool.Where(i => i.Kind != "harmful").Take(prompts - harmful));
    }

    /// <summary>
    /// The pairs one request's replies give: the reply with the highest rule-based reward (the first of
    /// equals) against each distinct reply rewarded less. Empty replies are left out.
    /// </summary>
    public static IEnumerable<ComparisonPair> Rank(string prompt, PromptKind kind, IReadOnlyList<string> replies, RuleBasedRewardModel rbrm)
    {
        var scored = replies.Where(r => r.Length > 0).Distinct(StringComparer.Ordinal)
            .Select(r => (Reply: r, Reward: rbrm.Reward(kind, rbrm.Classify(r).Class))).ToList();
        if (scored.Count < 2) yield break;
        var best = scored.MaxBy(s => s.Reward);
        foreach (var worse in scored.Where(s => s.Reward < best.Reward))
            yield return new ComparisonPair(prompt, best.Reply, worse.Reply, kind == PromptKind.Harmful ? HarmfulSource : BenignSource, Split.Train);
    }
}
