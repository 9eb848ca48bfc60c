using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Generation;

/// <summary>Turns a row of next-token logits into a chosen token, on the device, without host round-trips but the final id.</summary>
public sealed class LogitsProcessor(SamplingOptions options) : IDisposable
{
    readonly Generator generator = new((ulong)options.Seed);

    /// <summary>Frees the native random generator.</summary>
    public void Dispose() => generator.Dispose();

    /// <summary>Picks the next token for each row of <paramref name="logits"/> [B, vocab]; <paramref name="history"/> [B, n] holds tokens seen so far.</summary>
    public Tensor Next(Tensor logits, Tensor? history)
    {
        using var scope = torch.NewDisposeScope();
        logits = logits.to(ScalarType.Float32);
        if (options.RepetitionPenalty != 1.0 && history is not null && history.shape[1] > 0)
        {
            var seen = logits.gather(1, history);
            var penalised = torch.where(seen > 0, seen / options.RepetitionPenalty, seen * options.RepetitionPenalty);
            logits = logits.scatter(1, history, penalised);
        }
        if (options.Temperature == 0) return logits.argmax(-1, keepdim: true).MoveToOuterDisposeScope();

        logits = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < logits.shape[1])
        {
            var kth = logits.topk(options.TopK, dim: -1).values.narrow(1, options.TopK - 1, 1);
            logits = logits.masked_fill(logits < kth, double.NegativeInfinity);
        }
        if (options.TopP < 1.0)
        {
            var (sorted, order) = logits.sort(dim: -1, descending: true);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // Drop a token when the tokens before it already reach p (the first token always stays).
            var drop = (cumulative - sorted.softmax(-1)) >= options.TopP;
            logits = logits.scatter(1, order, sorted.masked_fill(drop, double.NegativeInfinity));
        }
        return torch.multinomial(logits.softmax(-1), 1, generator: generator).MoveToOuterDisposeScope();
    }
}
