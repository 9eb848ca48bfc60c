using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Server;

/// <summary>The model's log-probability of each next token of a sequence, with the top alternatives.</summary>
static class Scoring
{
    public sealed record Position(float Chosen, IReadOnlyList<(int Id, float LogProb)> Top);

    /// <summary>Position i scores token i+1 given tokens 0..i; <paramref name="top"/> alternatives per position. Run on the inference thread.</summary>
    public static IReadOnlyList<Position> LogProbs(GptModel model, int[] tokens, int top)
    {
        if (tokens.Length < 2) return [];
        model.eval();
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var input = torch.tensor(tokens.Select(t => (long)t).ToArray(), device: model.Device).unsqueeze(0);
        var logProbs = model.Forward(input).squeeze(0).to(ScalarType.Float32).log_softmax(-1)[..^1];
        var next = torch.tensor(tokens[1..].Select(t => (long)t).ToArray(), device: model.Device).unsqueeze(1);
        var chosen = logProbs.gather(1, next).squeeze(1).cpu().data<float>().ToArray();
        int k = Math.Max(1, top);
        var (values, indices) = logProbs.topk(k, dim: 1);
        var topValues = values.cpu().data<float>().ToArray();
        var topIds = indices.cpu().data<long>().ToArray();
        return Enumerable.Range(0, chosen.Length).Select(i =>
            new Position(chosen[i], Enumerable.Range(0, k).Select(j => ((int)topIds[i * k + j], topValues[i * k + j])).ToList())).ToList();
    }
}
