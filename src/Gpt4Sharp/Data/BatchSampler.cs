using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Data;

/// <summary>
/// Cuts (input, target) batches out of a token shard. Training batches are random contiguous
/// windows of T+1 tokens whose starts are a pure function of (seed, step, row), so a resumed run
/// sees exactly the batches an uninterrupted one would. Returned tensors are int64 on the
/// requested device, owned by the caller (they join the caller's dispose scope, if any).
/// </summary>
public sealed class BatchSampler
{
    readonly TokenShard _shard;

    public int BatchSize { get; }
    public int ContextLength { get; }
    public long Seed { get; }

    public BatchSampler(TokenShard shard, int batchSize, int contextLength, long seed)
    {
        if (batchSize <= 0 || contextLength <= 0)
            throw new UserError($"Batch size ({batchSize}) and context length ({contextLength}) must both be positive.");
        if (shard.Count < contextLength + 1L)
            throw new UserError($"Token shard {shard.Path} holds {shard.Count} tokens but a context of {contextLength} needs at least {contextLength + 1}; prepare more text or use a shorter context.");
        _shard = shard;
        BatchSize = batchSize;
        ContextLength = contextLength;
        Seed = seed;
    }

    /// <summary>Where row <paramref name="row"/> of training step <paramref name="step"/> starts.</summary>
    public long WindowStart(long step, int row) => CounterHash.Below(_shard.Count - ContextLength, Seed, step, row);

    /// <summary>The training batch for <paramref name="step"/>: input [B, T] and target [B, T] (input shifted by one).</summary>
    public (Tensor Input, Tensor Target) TrainBatch(long step, Device device)
    {
        var starts = new long[BatchSize];
        for (var row = 0; row < BatchSize; row++) starts[row] = WindowStart(step, row);
        return Gather(starts, device);
    }

    /// <summary>Number of non-overlapping T+1 windows (stride T) the validation pass walks.</summary>
    public long SequentialWindowCount => (_shard.Count - 1) / ContextLength;

    /// <summary>
    /// Walks the whole shard once in order: windows start at 0, T, 2T, ... and every token except
    /// the first is predicted exactly once; the last batch may have fewer than B rows. Stops after
    /// <paramref name="maxBatches"/> when given. Dispose each batch (or use a scope per iteration).
    /// </summary>
    public IEnumerable<(Tensor Input, Tensor Target)> Sequential(Device device, int? maxBatches = null)
    {
        var windows = SequentialWindowCount;
        var batches = 0;
        for (long first = 0; first < windows && (maxBatches is null || batches < maxBatches); first += BatchSize, batches++)
        {
            var rows = (int)Math.Min(BatchSize, windows - first);
            var starts = new long[rows];
            for (var r = 0; r < rows; r++) starts[r] = (first + r) * ContextLength;
            yield return Gather(starts, device);
        }
    }

    (Tensor Input, Tensor Target) Gather(long[] starts, Device device)
    {
        var width = ContextLength + 1;
        var host = new long[starts.Length * width];
        for (var r = 0; r < starts.Length; r++) _shard.Read(starts[r], host.AsSpan(r * width, width));
        using var scope = NewDisposeScope();
        var windows = torch.tensor(host, [starts.Length, width], dtype: ScalarType.Int64).to(device);
        var input = windows[.., ..ContextLength].contiguous();
        var target = windows[.., 1..].contiguous();
        return (input.MoveToOuterDisposeScope(), target.MoveToOuterDisposeScope());
    }
}
