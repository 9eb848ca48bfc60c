using TorchSharp;
using static TorchSharp.torch;

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
/// Training over consecutive segments with a carried <see cref="SegmentMemory"/> (Dai et al.
/// 2019): each step trains on one segment per lane, attending to the previous segment's keys
/// and values without back-propagating into them. AdamW with gradient clipping at 1; the
/// pretraining <c>Trainer</c> samples independent windows, which cannot carry a memory.
/// </summary>
public static class SegmentTraining
{
    /// <summary>Trains <paramref name="steps"/> segments; returns the loss of each. Without <paramref name="useMemory"/> every segment starts blank (the baseline).</summary>
    public static float[] Train(GptModel model, SegmentStream data, int steps, double learningRate, bool useMemory = true,
        IProgress<(int Step, float Loss)>? progress = null, CancellationToken cancel = default)
    {
        model.train();
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: learningRate, weight_decay: 0.01);
        using var memory = model.NewMemory();
        var losses = new float[steps];
        for (int step = 0; step < steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            if (!useMemory || step % data.SegmentsPerPass == 0) memory.Clear();
            var (input, target) = data.Segment(step, model.Device);
            optimizer.zero_grad();
            var loss = GptModel.Loss(model.ForwardSegment(input, memory), target);
            loss.backward();
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            losses[step] = loss.item<float>();
            progress?.Report((step + 1, losses[step]));
        }
        model.eval();
        return losses;
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
