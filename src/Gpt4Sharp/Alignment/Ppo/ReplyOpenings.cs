using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// The two-token openings of one kind of reply that open none of the curriculum's other replies: its refusals, for
/// <see cref="PpoSettings.RefusalAuxCoefficient"/>, or its declines ("I don't know of any …", "The passage does not say."), for
/// <see cref="PpoSettings.DeclineAuxCoefficient"/>. Two tokens, not one, because a small vocabulary starts both
/// "I can't ..." and "In your settings ..." with the same token "I"; the second token tells them apart.
/// The probability of such an opening is the sum over openings (a, b) of p(a | prompt) · p(b | prompt, a), read from one
/// pass over the prompt followed by each distinct first token (almost always just "I").
/// </summary>
public sealed class ReplyOpenings
{
    readonly int[] firstTokens;
    readonly (int FirstIndex, int Second)[] openings;

    ReplyOpenings(int[] firstTokens, (int FirstIndex, int Second)[] openings) => (this.firstTokens, this.openings) = (firstTokens, openings);

    /// <summary>The distinct first tokens; a prompt is read once followed by each.</summary>
    public IReadOnlyList<int> FirstTokens => firstTokens;

    /// <summary>Every opening as (first token, second token).</summary>
    public IReadOnlyList<(int First, int Second)> Pairs => [.. openings.Select(o => (firstTokens[o.FirstIndex], o.Second))];

    /// <summary>
    /// The openings of <paramref name="items"/>' harmful replies (refusals) minus those of their benign replies.
    /// Throws <see cref="UserError"/> when none is left, where the refusal decision cannot be read from two tokens.
    /// </summary>
    public static ReplyOpenings Refusals(ITokenizer tokenizer, IEnumerable<CurriculumItem> items)
    {
        var list = items.ToList();
        var refusals = Openings(tokenizer, list.Where(item => item.Kind == "harmful"));
        refusals.ExceptWith(Openings(tokenizer, list.Where(item => item.Kind == "benign")));
        if (refusals.Count == 0)
            throw new UserError("The refusal-decision loss found no two-token opening of the curriculum's refusals that opens none of its helpful answers; set --refusal-aux 0.");
        return Of(refusals);
    }

    /// <summary>
    /// The openings of <paramref name="items"/>' declines (knowledge items whose answer is "I don't know." or "The passage does not
    /// say.") minus those of their answers. Throws <see cref="UserError"/> when none is left.
    /// </summary>
    public static ReplyOpenings Declines(ITokenizer tokenizer, IEnumerable<CurriculumItem> items)
    {
        var list = items.ToList();
        var declines = Openings(tokenizer, list.Where(Declines));
        declines.ExceptWith(Openings(tokenizer, list.Where(item => !Declines(item))));
        if (declines.Count == 0)
            throw new UserError("The decline-decision loss found no two-token opening of the curriculum's declines that opens none of its answers; set --decline-aux 0.");
        return Of(declines);
    }

    /// <summary>Whether <paramref name="reply"/> opens with one of the openings.</summary>
    public bool Opens(ITokenizer tokenizer, string reply)
    {
        var ids = tokenizer.Encode(reply, allowSpecial: false);
        return ids.Length >= 2 && IsOpening(ids[0], ids[1]);
    }

    bool IsOpening(int first, int second)
    {
        int index = Array.IndexOf(firstTokens, first);
        return index >= 0 && openings.Contains((index, second));
    }

    /// <summary>Whether a knowledge item's right reply declines: it asks about an entity that does not exist, or what a passage does not say.</summary>
    public static bool Declines(CurriculumItem item) => item.Answer is KnowledgeFamily.DontKnow or KnowledgeFamily.NotInPassage;

    static HashSet<(int, int)> Openings(ITokenizer tokenizer, IEnumerable<CurriculumItem> items) =>
        [.. items.Select(item => tokenizer.Encode(item.Response, allowSpecial: false)).Where(ids => ids.Length >= 2).Select(ids => (ids[0], ids[1]))];

    /// <summary>The given (first token, second token) openings.</summary>
    public static ReplyOpenings Of(IEnumerable<(int First, int Second)> pairs)
    {
        var sorted = pairs.Distinct().Order().ToList();
        if (sorted.Count == 0) throw new ArgumentException("At least one opening is needed.", nameof(pairs));
        int[] firsts = [.. sorted.Select(o => o.First).Distinct()];
        return new ReplyOpenings(firsts, [.. sorted.Select(o => (Array.IndexOf(firsts, o.First), o.Second))]);
    }

    /// <summary>
    /// log p(the reply opens with one of the openings) [B] from next-token logits [B, F, 2, V]: for each prompt and each first token f,
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
    /// log p(the reply opens with one of the openings | it opens with one of their first tokens) [B], from the same logits as
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

    /// <summary>Per prompt, whether greedy decoding opens with one of the openings: the most likely first token, then the most likely token after it.</summary>
    public bool[] GreedyOpens(Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        var top = logits.argmax(-1).cpu(); // [B, F, 2]
        long b = top.shape[0], f = top.shape[1];
        var ids = top.data<long>().ToArray();
        var result = new bool[b];
        for (long i = 0; i < b; i++)
        {
            // The tag's reading is the same in every copy of the prompt; the first copy's is used, then the copy after the chosen token.
            int first = (int)ids[i * f * 2], chosen = Array.IndexOf(firstTokens, first);
            result[i] = chosen >= 0 && IsOpening(first, (int)ids[(i * f + chosen) * 2 + 1]);
        }
        return result;
    }

    /// <summary>
    /// Binary cross-entropy of the decision from log p(opening) [B] against labels [B] (1: the reply should open so, e.g. a
    /// harmful request's refusal; 0: it should not).
    /// </summary>
    public static Tensor DecisionLoss(Tensor logProbability, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        // log(1 − p) from log p without cancellation; the clamp keeps p = 1 finite.
        var logComply = torch.log(-torch.expm1(logProbability.clamp_max(-1e-7)));
        return (-(labels * logProbability + (1 - labels) * logComply).mean()).MoveToOuterDisposeScope();
    }
}
