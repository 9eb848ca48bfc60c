using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>
/// Consecutive segments of long documents, Transformer-XL style: the documents are joined
/// into one token stream and cut into <c>batch</c> contiguous lanes, so segment s+1 of a lane
/// continues exactly where segment s ended and a memory carried between them sees real context.
/// </summary>
public sealed class SegmentStream
{
    readonly long[] stream;
    readonly long laneLength;

    public SegmentStream(IEnumerable<int[]> documents, int batch, int segmentLength)
    {
        if (batch < 1 || segmentLength < 1) throw new UserError($"Segments need a batch and a length of at least 1 (got {batch} x {segmentLength}).");
        stream = documents.SelectMany(d => d).Select(t => (long)t).ToArray();
        Batch = batch;
        SegmentLength = segmentLength;
        laneLength = stream.Length / batch;
        SegmentsPerPass = (int)((laneLength - 1) / segmentLength);
        if (SegmentsPerPass < 1)
            throw new UserError($"The documents hold {stream.Length} tokens, too few for {batch} lanes of at least one {segmentLength}-token segment; give more text or shorter segments.");
    }

    public int Batch { get; }
    public int SegmentLength { get; }
    /// <summary>Segments before the lanes run out; training wraps around to the start (with a cleared memory).</summary>
    public int SegmentsPerPass { get; }

    /// <summary>Inputs and next-token targets [batch, segmentLength] of segment <paramref name="index"/> (modulo a pass).</summary>
    public (Tensor Input, Tensor Target) Segment(int index, Device? device = null)
    {
        long start = (long)(index % SegmentsPerPass) * SegmentLength;
        var input = new long[Batch * SegmentLength];
        var target = new long[Batch * SegmentLength];
        for (int b = 0; b < Batch; b++)
        {
            Array.Copy(stream, b * laneLength + start, input, b * SegmentLength, SegmentLength);
            Array.Copy(stream, b * laneLength + start + 1, target, b * SegmentLength, SegmentLength);
        }
        return (torch.tensor(input, [Batch, SegmentLength], device: device), torch.tensor(target, [Batch, SegmentLength], device: device));
    }
}

/// <summary>
/// Whole documents (conversations) in batches, each read as consecutive segments aligned to its
/// end: the last segment ends on the last token and the first takes the remainder, the way a chat
/// prompt is fed at inference. Every document starts with a blank memory, so no other document
/// leaks into it. Documents of equal length share a batch (no padding); the batch order is
/// shuffled each pass from the seed, so a run replays exactly.
/// </summary>
public sealed class DocumentSegments
{
    readonly List<(int[] Ids, bool[] Learn)[]> batches;
    readonly int[] order;
    readonly long seed;
    int orderedPass = -1;

    public DocumentSegments(IEnumerable<(int[] Ids, bool[] Learn)> documents, int batch, int segmentLength, long seed = 0)
    {
        if (batch < 1 || segmentLength < 1) throw new UserError($"Segments need a batch and a length of at least 1 (got {batch} x {segmentLength}).");
        var docs = documents.ToList();
        if (docs.Any(d => d.Ids.Length != d.Learn.Length)) throw new UserError("Each document needs one learn flag per token.");
        if (docs.Any(d => d.Ids.Length < 2)) throw new UserError("Each document needs at least two tokens (an input and its next-token target).");
        var rng = new Random((int)seed);
        batches = docs.GroupBy(d => d.Ids.Length)
            .SelectMany(g => g.OrderBy(_ => rng.Next()).Chunk(batch))
            .ToList();
        if (batches.Count == 0) throw new UserError("No documents to train on; give at least one.");
        order = Enumerable.Range(0, batches.Count).ToArray();
        SegmentLength = segmentLength;
        this.seed = seed;
    }

    public int SegmentLength { get; }
    public int BatchesPerPass => batches.Count;

    /// <summary>Inputs and targets (-100 where not learned) [batch, ≤segmentLength] of each segment of batch <paramref name="index"/>, first to last.</summary>
    public List<(Tensor Input, Tensor Target)> Batch(int index, Device? device = null)
    {
        int pass = index / batches.Count;
        if (pass < orderedPass)
        {
            for (int i = 0; i < order.Length; i++) order[i] = i;
            orderedPass = -1;
        }
        while (orderedPass < pass) new Random((int)(seed + ++orderedPass)).Shuffle(order); // pass p reshuffles pass p-1's order
        var docs = batches[order[index % batches.Count]];
        int positions = docs[0].Ids.Length - 1; // token i predicts token i+1
        int first = positions % SegmentLength == 0 ? SegmentLength : positions % SegmentLength;
        var segments = new List<(Tensor, Tensor)>();
        for (int start = 0, length = Math.Min(first, positions); start < positions; start += length, length = SegmentLength)
        {
            var input = new long[docs.Length * length];
            var target = new long[docs.Length * length];
            for (int b = 0; b < docs.Length; b++)
                for (int i = 0; i < length; i++)
                {
                    input[b * length + i] = docs[b].Ids[start + i];
                    target[b * length + i] = docs[b].Learn[start + i + 1] ? docs[b].Ids[start + i + 1] : -100;
                }
            segments.Add((torch.tensor(input, [docs.Length, length], device: device), torch.tensor(target, [docs.Length, length], device: device)));
        }
        return segments;
    }
}

/// <summary>
/// Training over consecutive segments with a carried <see cref="SegmentMemory"/> (Dai et al.
/// 2019): each step trains on one segment per lane, attending to the previous segment's keys
/// and values without back-propagating into them. AdamW with gradient clipping at 1; the
/// pretraining <c>Trainer</c> samples independent windows, which cannot carry a memory.
/// </summary>
public static class SegmentTraining
{
    /// <summary>
    /// Trains <paramref name="steps"/> segments with a linear warm-up over the first <paramref name="warmupSteps"/>
    /// and a cosine decay to a tenth of <paramref name="learningRate"/>; returns each step's loss. Without
    /// <paramref name="useMemory"/> every segment starts blank (the baseline). <paramref name="progress"/> is
    /// called on the training thread.
    /// </summary>
    public static float[] Train(GptModel model, SegmentStream data, int steps, double learningRate, bool useMemory = true,
        IProgress<(int Step, float Loss)>? progress = null, CancellationToken cancel = default, int warmupSteps = 0) =>
        Optimise(model, steps, learningRate, warmupSteps, progress, cancel, (step, memory) =>
        {
            if (!useMemory || step % data.SegmentsPerPass == 0) memory.Clear();
            var (input, target) = data.Segment(step, model.Device);
            var loss = GptModel.Loss(model.ForwardSegment(input, memory), target);
            loss.backward();
            return loss.item<float>();
        });

    /// <summary>
    /// Trains <paramref name="steps"/> batches of whole documents: each document is read segment by
    /// segment with its memory carried (detached, as in Transformer-XL), each segment back-propagates
    /// its share of the batch's mean loss, and the optimizer steps once per batch. Segments without
    /// targets only advance the memory, without building a graph. Same schedule as <see cref="Train"/>.
    /// </summary>
    public static float[] TrainDocuments(GptModel model, DocumentSegments data, int steps, double learningRate, int warmupSteps = 0,
        IProgress<(int Step, float Loss)>? progress = null, CancellationToken cancel = default) =>
        Optimise(model, steps, learningRate, warmupSteps, progress, cancel, (step, memory) =>
        {
            memory.Clear();
            var segments = data.Batch(step, model.Device);
            var counts = segments.Select(s => s.Target.ne(-100).sum().item<long>()).ToArray();
            long total = counts.Sum();
            double loss = 0;
            for (int s = 0; s < segments.Count; s++)
            {
                using var segmentScope = torch.NewDisposeScope();
                if (counts[s] == 0)
                {
                    using var noGrad = torch.no_grad();
                    model.ForwardSegment(segments[s].Input, memory);
                    continue;
                }
                var logits = model.ForwardSegment(segments[s].Input, memory);
                var sum = F.cross_entropy(logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32), segments[s].Target.reshape(-1), ignore_index: -100, reduction: nn.Reduction.Sum);
                (sum / total).backward();
                loss += sum.item<float>();
            }
            return total == 0 ? null : (float)(loss / total);
        });

    /// <summary>
    /// The loop both trainers share: AdamW (weight decay 0.01) with the warm-up and cosine schedule,
    /// one dispose scope per step, gradients clipped at 1. <paramref name="lossOfStep"/> runs the
    /// step's forward and backward passes and returns its loss, or null when the step had nothing
    /// to learn (no optimizer step; NaN in the losses).
    /// </summary>
    static float[] Optimise(GptModel model, int steps, double learningRate, int warmupSteps,
        IProgress<(int Step, float Loss)>? progress, CancellationToken cancel, Func<int, SegmentMemory, float?> lossOfStep)
    {
        model.train();
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: learningRate, weight_decay: 0.01);
        using var memory = model.NewMemory();
        var losses = new float[steps];
        for (int step = 0; step < steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRate(step, steps, learningRate, warmupSteps);
            optimizer.zero_grad();
            var loss = lossOfStep(step, memory);
            losses[step] = loss ?? float.NaN;
            if (loss is not null)
            {
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
            }
            progress?.Report((step + 1, losses[step]));
        }
        model.eval();
        return losses;
    }

    /// <summary>Warm-up then cosine decay from <paramref name="peak"/> to peak/10 at the last step.</summary>
    public static double LearningRate(int step, int steps, double peak, int warmupSteps)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        double progress = steps <= warmupSteps + 1 ? 1 : (double)(step - warmupSteps) / (steps - warmupSteps - 1);
        return peak * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Mean next-token loss over the first <paramref name="segments"/> segments of a pass, with or without carrying memory.</summary>
    public static double Evaluate(GptModel model, SegmentStream data, int segments, bool useMemory)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        using var memory = model.NewMemory();
        double total = 0;
        for (int s = 0; s < segments; s++)
        {
            using var scope = torch.NewDisposeScope();
            if (!useMemory) memory.Clear();
            var (input, target) = data.Segment(s, model.Device);
            total += GptModel.Loss(model.ForwardSegment(input, memory), target).item<float>();
        }
        return total / segments;
    }
}
