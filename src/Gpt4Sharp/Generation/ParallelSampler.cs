using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Generation;

/// <summary>One of several completions of the same prompt, with the log-probability of each sampled token under the model (temperature 1).</summary>
public sealed record SampledSequence(int[] Tokens, float[] LogProbs, string Text, FinishReason Reason);

/// <summary>
/// Draws several completions of one prompt in a single batch: every decode step is one forward
/// pass over all rows, so m samples cost about one decode of m rows rather than m separate runs
/// (what self-consistency voting and PPO rollouts need). Rows that hit a stop token or stop
/// string are finished while the others go on.
/// </summary>
public static class ParallelSampler
{
    public static IReadOnlyList<SampledSequence> Sample(GptModel model, ITokenizer tokenizer, int[] prompt, int count, SamplingOptions options, CancellationToken cancel = default)
    {
        options.Validate();
        if (count < 1) throw new UserError($"The number of samples must be positive (got {count}).");
        int context = model.Config.ContextLength;
        if (prompt.Length == 0 || prompt.Length >= context)
            throw new UserError($"The prompt is {prompt.Length} tokens but must be between 1 and {context - 1} for the model's context of {context}.");

        model.eval();
        using var inference = torch.inference_mode();
        using var cache = model.NewCache(batch: count);
        using var processor = new LogitsProcessor(options);
        var stopTokens = options.StopTokens.ToHashSet();
        var tokens = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, count).Select(_ => new List<float>()).ToArray();
        var reasons = new FinishReason?[count];

        using (var scope = torch.NewDisposeScope())
        {
            var input = torch.tensor(prompt.Select(i => (long)i).ToArray(), device: model.Device).unsqueeze(0).expand(count, -1).contiguous();
            var seen = options.RepetitionPenalty != 1.0 ? input : null; // tokens each row has seen, for the repetition penalty
            int maxNew = Math.Min(options.MaxNewTokens, context - prompt.Length);
            for (int step = 0; step < maxNew && reasons.Any(r => r is null); step++)
            {
                cancel.ThrowIfCancellationRequested();
                using var stepScope = torch.NewDisposeScope();
                var logits = model.Forward(input, cache).select(1, -1).to(ScalarType.Float32);
                var next = processor.Next(logits, seen);
                if (seen is not null) seen = torch.cat([seen, next], 1).MoveToOuterDisposeScope();
                var chosenLogProbs = logits.log_softmax(-1).gather(1, next).squeeze(1).cpu().data<float>().ToArray();
                var ids = next.squeeze(1).cpu().data<long>().ToArray();
                for (int r = 0; r < count; r++)
                {
                    if (reasons[r] is not null) continue;
                    if (stopTokens.Contains((int)ids[r])) { reasons[r] = FinishReason.Stop; continue; }
                    tokens[r].Add((int)ids[r]);
                    logProbs[r].Add(chosenLogProbs[r]);
                    if (options.Stop.Count > 0 && options.Stop.Any(s => tokenizer.Decode(tokens[r]).Contains(s, StringComparison.Ordinal))) reasons[r] = FinishReason.Stop;
                }
                input = next.MoveToOuterDisposeScope();
            }
        }

        return Enumerable.Range(0, count).Select(r =>
        {
            var text = tokenizer.Decode(tokens[r]);
            var reason = reasons[r] ?? (tokens[r].Count >= options.MaxNewTokens ? FinishReason.Length : FinishReason.ContextFull);
            foreach (var stop in options.Stop)
                if (text.IndexOf(stop, StringComparison.Ordinal) is var at and >= 0) text = text[..at];
            return new SampledSequence([.. tokens[r]], [.. logProbs[r]], text, reason);
        }).ToList();
    }
}
