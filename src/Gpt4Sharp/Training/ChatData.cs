using Gpt4Sharp.Data;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Training;

/// <summary>
/// Supervised fine-tuning batches from conversations: each example is encoded with the chat
/// template, and the loss covers only assistant tokens (other targets are -100). Examples are
/// right-padded to the longest in the batch (causal attention never looks at the padding) and
/// truncated to the sequence length. Example choice is a pure function of (seed, step, row).
/// </summary>
public sealed class ChatData : ITrainingData
{
    const long Ignore = -100;
    readonly ChatEncoding[] train, validation;
    readonly long seed;
    readonly int pad;

    public ChatData(IEnumerable<IReadOnlyList<ChatMessage>> conversations, ITokenizer tokenizer, long seed, double validationFraction = 0.05)
    {
        var encoded = conversations.Select(c => ChatTemplate.Encode(tokenizer, c)).Where(e => e.AssistantMask.Skip(1).Any(m => m)).ToList();
        if (encoded.Count == 0) throw new UserError("The chat data holds no conversation with an assistant reply to learn from.");
        var isValidation = encoded.Select((_, i) => encoded.Count > 1 && CounterHash.Unit(seed, i, 7) < validationFraction).ToArray();
        train = [.. encoded.Where((_, i) => !isValidation[i])];
        validation = [.. encoded.Where((_, i) => isValidation[i])];
        if (validation.Length == 0) validation = train[..Math.Min(train.Length, 32)];
        this.seed = seed;
        pad = tokenizer.SpecialTokenId(SpecialTokens.Pad) ?? tokenizer.SpecialTokenId(SpecialTokens.EndOfText) ?? 0;
    }

    public int TrainExamples => train.Length;
    public int ValidationExamples => validation.Length;

    public (Tensor Input, Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, Device device)
    {
        var rows = Enumerable.Range(0, batchSize).Select(r => train[CounterHash.Below(train.Length, seed, step * 65536 + microBatch, r)]);
        return Batch(rows.ToList(), seqLen, device);
    }

    public IEnumerable<(Tensor Input, Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, Device device)
    {
        for (int b = 0; b < maxBatches && b * batchSize < validation.Length; b++)
            yield return Batch(validation.Skip(b * batchSize).Take(batchSize).ToList(), seqLen, device);
    }

    (Tensor, Tensor) Batch(List<ChatEncoding> rows, int seqLen, Device device)
    {
        int width = Math.Min(seqLen, rows.Max(r => r.Ids.Length - 1));
        var input = new long[rows.Count * width];
        var target = new long[rows.Count * width];
        Array.Fill(input, pad);
        Array.Fill(target, Ignore);
        for (int r = 0; r < rows.Count; r++)
        {
            var (ids, mask) = (rows[r].Ids, rows[r].AssistantMask);
            int n = Math.Min(width, ids.Length - 1);
            for (int t = 0; t < n; t++)
            {
                input[r * width + t] = ids[t];
                if (mask[t + 1]) target[r * width + t] = ids[t + 1];
            }
        }
        return (torch.tensor(input, [rows.Count, width], device: device), torch.tensor(target, [rows.Count, width], device: device));
    }
}
