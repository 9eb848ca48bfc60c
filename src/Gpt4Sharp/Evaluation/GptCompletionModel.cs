using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Evaluation;

/// <summary>
/// <see cref="ICompletionModel"/> over a trained Gpt4Sharp model. Prompts longer than the
/// context keep their last tokens (the part nearest the answer), leaving room for the
/// completion; n samples of one prompt are drawn in one batch.
/// </summary>
public sealed class GptCompletionModel(ModelBundle bundle) : ICompletionModel
{
    public ModelBundle Bundle => bundle;

    public Task<IReadOnlyList<string>> CompleteAsync(string prompt, int n, double temperature, int maxTokens, IReadOnlyList<string> stop, CancellationToken cancellationToken)
    {
        int context = bundle.Model.Config.ContextLength;
        maxTokens = Math.Clamp(maxTokens, 1, context - 1);
        var ids = Tail(bundle.Tokenizer.Encode(prompt, allowSpecial: true), context - maxTokens);
        var options = new SamplingOptions
        {
            MaxNewTokens = maxTokens, Temperature = temperature, Stop = stop, Seed = 1234,
            StopTokens = new[] { SpecialTokens.EndOfText, SpecialTokens.EndOfTurn }.Select(bundle.Tokenizer.SpecialTokenId).OfType<int>().ToArray(),
        };
        var samples = ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, ids, n, options, cancellationToken);
        return Task.FromResult<IReadOnlyList<string>>(samples.Select(s => s.Text).ToList());
    }

    public double LogLikelihood(string context, string continuation)
    {
        var continuationIds = bundle.Tokenizer.Encode(continuation);
        if (continuationIds.Length == 0) return 0;
        int window = bundle.Model.Config.ContextLength;
        if (continuationIds.Length >= window)
            throw new UserError($"A continuation of {continuationIds.Length} tokens does not fit the model's context of {window}.");
        var contextIds = Tail(bundle.Tokenizer.Encode(context, allowSpecial: true), window - continuationIds.Length);
        if (contextIds.Length == 0) contextIds = [bundle.Tokenizer.SpecialTokenId(SpecialTokens.EndOfText) ?? 0];
        var all = contextIds.Concat(continuationIds).Select(i => (long)i).ToArray();

        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var input = torch.tensor(all, device: bundle.Model.Device).unsqueeze(0);
        var logProbs = bundle.Model.Forward(input).to(ScalarType.Float32).log_softmax(-1)[0];
        // Token i of the continuation is predicted at position (context length + i - 1).
        var positions = torch.arange(contextIds.Length - 1, all.Length - 1, device: bundle.Model.Device);
        var targets = torch.tensor(continuationIds.Select(i => (long)i).ToArray(), device: bundle.Model.Device);
        return logProbs[positions, targets].sum().item<float>();
    }

    static int[] Tail(int[] ids, int keep) => ids.Length <= keep ? ids : ids[^Math.Max(keep, 1)..];
}
