using static TorchSharp.torch;

namespace Gpt4Sharp.Training;

/// <summary>
/// Token batches for training. Batches must be a pure function of (step, micro-batch), so a
/// resumed run sees exactly the batches of an uninterrupted one.
/// </summary>
public interface ITrainingData
{
    /// <summary>Inputs and next-token targets, both [batch, seqLen] int64 on <paramref name="device"/>; the caller disposes them.</summary>
    (Tensor Input, Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, Device device);

    /// <summary>A fixed, deterministic sequence of validation batches (the same every call).</summary>
    IEnumerable<(Tensor Input, Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, Device device);
}
