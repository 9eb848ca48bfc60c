using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Data;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Scaling;

/// <summary>
/// One data family's part of a validation loss: its mean loss per token and its share of the
/// validation tokens (the same share for every run, since every run is measured on the same tokens).
/// </summary>
public sealed record FamilyLoss(string Family, double Loss, double Share);

/// <summary>
/// The curriculum family of every validation target token a sweep's loss is measured on. The
/// validation shard is the held-out documents' ids, each followed by &lt;|endoftext|&gt;, packed end
/// to end; a token (its end-of-text included) belongs to the document it is part of, and the
/// sequential validation walk predicts the shard's tokens 1, 2, … in order, so target i is shard
/// token i + 1. Families are found by looking each document's text up in the corpus the shard was
/// built from, so nothing depends on how the shard writer routed documents.
/// </summary>
public sealed class EvalFamilies
{
    readonly int[] labels;

    EvalFamilies(IReadOnlyList<string> names, int[] labels)
    {
        Names = names;
        this.labels = labels;
    }

    /// <summary>The families in ordinal order; a label is an index into this list.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>How many target tokens are labelled.</summary>
    public int Count => labels.Length;

    /// <summary>The family index of target token <paramref name="i"/>.</summary>
    public int LabelOf(int i) => labels[i];

    /// <summary>
    /// Labels the first <paramref name="targets"/> targets of a token stream that starts at a document
    /// boundary: <paramref name="tokens"/> must reach at least to the end-of-text of the document that
    /// holds token <paramref name="targets"/>, or to the stream's end. <paramref name="familyOf"/> names
    /// the family of a document given its ids without the end-of-text.
    /// </summary>
    public static EvalFamilies FromTokens(IReadOnlyList<int> tokens, int endOfText, int targets, Func<int[], string> familyOf)
    {
        if (targets < 0 || targets + 1 > tokens.Count) throw new ArgumentOutOfRangeException(nameof(targets), $"{targets} targets need {targets + 1} tokens, got {tokens.Count}");
        var byPosition = new string[targets + 1];
        for (int start = 0; start <= targets;)
        {
            int end = start;
            while (end < tokens.Count && tokens[end] != endOfText) end++;
            if (end == tokens.Count)
                throw new ArgumentException("the token stream ends inside a document; it must reach the end-of-text of the last target's document");
            string family = familyOf([.. tokens.Skip(start).Take(end - start)]);
            for (int p = start; p <= Math.Min(end, targets); p++) byPosition[p] = family;
            start = end + 1;
        }
        var names = byPosition.Skip(1).Distinct().Order(StringComparer.Ordinal).ToList();
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);
        return new EvalFamilies(names, [.. byPosition.Skip(1).Select(f => index[f])]);
    }

    /// <summary>
    /// Labels the targets a validation pass of <paramref name="batches"/> batches of
    /// <paramref name="batchSize"/> × <paramref name="sequenceLength"/> reads from the shards in
    /// <paramref name="dataDir"/>, whose documents were made by <paramref name="corpus"/>.
    /// </summary>
    public static EvalFamilies ForValidation(string dataDir, ITokenizer tokenizer, Mixture corpus, int batches, int batchSize, int sequenceLength)
    {
        using var shard = TokenShard.Open(Path.Combine(dataDir, TokenShardWriter.ValidationFile));
        // The windows BatchSampler.Sequential walks: stride T, T + 1 tokens each, at most `batches` batches.
        long windows = Math.Min((shard.Count - 1) / sequenceLength, (long)batches * batchSize);
        int targets = checked((int)(windows * sequenceLength));
        int eot = tokenizer.SpecialTokenId(SpecialTokens.EndOfText)!.Value;
        // Read on to the end of the document that holds the last target.
        long end = targets + 1;
        while (end < shard.Count && shard.ReadIds(end - 1, 1)[0] != eot) end++;
        var tokens = shard.ReadIds(0, (int)end);
        var families = new Dictionary<string, string>();
        foreach (var (family, item) in corpus.Items()) families.TryAdd(Mixture.ToDocument(item), family.Name);
        return FromTokens(tokens, eot, targets, ids =>
            families.TryGetValue(tokenizer.Decode(ids), out var name) ? name
                : throw new InvalidOperationException("a validation document is not in the corpus the shards were built from"));
    }

    /// <summary>Mean loss and token share of each family, from the per-token losses of the labelled targets in order.</summary>
    public IReadOnlyList<FamilyLoss> Attribute(IReadOnlyList<float> tokenLosses)
    {
        if (tokenLosses.Count != labels.Length) throw new ArgumentException($"expected {labels.Length} token losses, got {tokenLosses.Count}");
        var sum = new double[Names.Count];
        var count = new int[Names.Count];
        for (int i = 0; i < labels.Length; i++)
        {
            sum[labels[i]] += tokenLosses[i];
            count[labels[i]]++;
        }
        return [.. Names.Select((name, f) => new FamilyLoss(name, sum[f] / count[f], (double)count[f] / labels.Length))];
    }

    /// <summary>
    /// The model's per-family loss on the same validation batches <see cref="Trainer.ValidationLoss"/>
    /// averages (a separate pass, so the total the sweep has always reported is untouched).
    /// </summary>
    public IReadOnlyList<FamilyLoss> Measure(GptModel model, ShardData data, int batches, int batchSize, int sequenceLength)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.eval();
        var losses = new List<float>(labels.Length);
        foreach (var (input, target) in data.ValidationBatches(batchSize, sequenceLength, batches, model.Device))
        {
            using var logits = model.Forward(input);
            using var perToken = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32), target.reshape(-1), reduction: nn.Reduction.None);
            losses.AddRange(perToken.cpu().data<float>().ToArray());
            input.Dispose();
            target.Dispose();
        }
        model.train();
        return Attribute(losses);
    }
}
