using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// The two-token openings of the curriculum's refusals that open none of its helpful answers, for
/// <see cref="PpoSettings.RefusalAuxCoefficient"/>. Two tokens, not one, because a small vocabulary starts both
/// "I can't ..." and "In your settings ..." with the same token "I"; the second token tells them apart.
/// The probability of a refusal is the sum over openings (a, b) of p(a | prompt) · p(b | prompt, a), read from one
/// pass over the prompt followed by each distinct first token (almost always just "I").
/// </summary>
public sealed class RefusalOpenings
{
    readonly int[] firstTokens;
    readonly (int FirstIndex, int Second)[] openings;

    RefusalOpenings(int[] firstTokens, (int FirstIndex, int Second)[] openings) => (this.firstTokens, this.openings) = (firstTokens, openings);

    /// <summary>The distinct first tokens; a prompt is read once followed by each.</summary>
    public IReadOnlyList<int> FirstTokens => firstTokens;

    /// <summary>Every opening as (first token, second token).</summary>
    public IReadOnlyList<(int First, int Second)> Pairs => [.. openings.Select(o => (firstTokens[o.FirstIndex], o.Second))];

    /// <summary>
    /// The openings of <paramref name="items"/>' harmful replies (refusals) minus those of their benign replies.
    /// Throws <see cref="UserError"/> when none is left, where the refusal decision cannot be read from two tokens.
    /// </summary>
    public static RefusalOpenings FromCurriculum(ITokenizer tokenizer, IEnumerable<CurriculumItem> items)
    {
        var list = items.ToList();
        HashSet<(int, int)> Openings(string kind) => [.. list.Where(item => item.Kind == kind)
            .Select(item => tokenizer.Encode(item.Response, allowSpecial: false)).Where(ids => ids.Length >= 2).Select(ids => (ids[0], ids[1]))];
        var refusals = Openings("harmful");
        refusals.ExceptWith(Openings("benign"));
        if (refusals.Count == 0)
            throw new UserError("The refusal-decision loss found no two-token opening of the curriculum's refusals that opens none of its helpful answers; set --refusal-aux 0.");
        return Of(refusals);
    }

    /// <summary>The given (first token, second token) openings.</summary>
    public static RefusalOpenings Of(IEnumerable<(int First, int Second)> pairs)
    {
        var sorted = pairs.Distinct().Order().ToList();
        if (sorted.Count == 0) throw new ArgumentException("At least one opening is needed.", nameof(pairs));
        int[] firsts = [.. sorted.Select(o => o.First).Distinct()];
        return new RefusalOpenings(firsts, [.. sorted.Select(o => (Array.IndexOf(firsts, o.First), o.Second))]);
    }

    /// <summary>
    /// log p(the reply opens with a refusal) [B] from next-token logits [B, F, 2, V]: for each prompt and each first token f,
    /// the logits at the assistant tag (index 0) and after f (index 1).
    /// </summary>
    public Tensor LogProbability(Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        long b = logits.shape[0], f = logits.shape[1], v = logits.shape[3];
        var logProbs = logits.log_softmax(-1);
        var first = logProbs.select(2, 0).reshape(b, f * v);
        var second = logProbs.select(2, 1).reshape(b, f * v);
        var device = logits.device;
        var firstAt = torch.tensor(openings.Select(o => o.FirstIndex * v + firstTokens[o.FirstIndex]).ToArray(), device: device);
        var secondAt = torch.tensor(openings.Select(o => o.FirstIndex * v + o.Second).ToArray(), device: device);
        return (first.index_select(1, firstAt) + second.index_select(1, secondAt)).logsumexp(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// log p(the reply opens with a refusal | it opens with one of the first tokens) [B], from the same logits as
    /// <see cref="LogProbability"/>. For prompts whose right reply may itself open with a refusal's first token ("I don't
    /// know of any town called …" beside "I can't help with that"), so that a loss on it moves only the choice after that
    /// token and never the first token's own probability (with one first token, its gradient there is exactly zero).
    /// </summary>
    public Tensor ConditionalLogProbability(Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        long b = logits.shape[0], v = logits.shape[3];
        var first = logits.select(2, 0).log_softmax(-1);
        // The tag's reading for first token f is in copy f of the prompt (all copies read the same prefix).
        var firstAt = torch.tensor(firstTokens.Select((t, f) => f * v + t).ToArray(), device: logits.device);
        var opensWithFirst = first.reshape(b, -1).index_select(1, firstAt).logsumexp(-1);
        return (LogProbability(logits) - opensWithFirst).MoveToOuterDisposeScope();
    }

    /// <summary>Per prompt, whether greedy decoding opens with a refusal: the most likely first token, then the most likely token after it.</summary>
    public bool[] GreedyRefuses(Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        var top = logits.argmax(-1).cpu(); // [B, F, 2]
        long b = top.shape[0], f = top.shape[1];
        var ids = top.data<long>().ToArray();
        var result = new bool[b];
        for (long i = 0; i < b; i++)
        {
            // The tag's reading is the same in every copy of the prompt; the first copy's is used.
            int chosen = Array.IndexOf(firstTokens, (int)ids[i * f * 2]);
            result[i] = chosen >= 0 && openings.Contains((chosen, (int)ids[(i * f + chosen) * 2 + 1]));
        }
        return result;
    }

    /// <summary>
    /// Binary cross-entropy of the refusal decision from log p(refusal) [B] against labels [B] (1 harmful, 0 benign).
    /// </summary>
    public static Tensor DecisionLoss(Tensor logProbability, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        // log(1 − p) from log p without cancellation; the clamp keeps p = 1 finite.
        var logComply = torch.log(-torch.expm1(logProbability.clamp_max(-1e-7)));
        return (-(labels * logProbability + (1 - labels) * logComply).mean()).MoveToOuterDisposeScope();
    }
}
