using Gpt4Sharp.Data;
using Gpt4Sharp.Text;
using static TorchSharp.torch;

namespace Gpt4Sharp.Training;

/// <summary>Training data from a prepared shard directory (train.bin, val.bin): random windows to train on, a fixed walk to validate on.</summary>
public sealed class ShardData : ITrainingData, IDisposable
{
    readonly TokenShard train, validation;
    readonly long seed;

    public ShardData(string directory, ITokenizer tokenizer, long seed)
    {
        string trainPath = Path.Combine(directory, TokenShardWriter.TrainFile), valPath = Path.Combine(directory, TokenShardWriter.ValidationFile);
        if (!File.Exists(trainPath))
            throw new UserError($"No token shards in '{directory}' (train.bin is missing); run `gpt4sharp data prepare` first or leave --data out to use the built-in curriculum.");
        train = TokenShard.Open(trainPath);
        validation = File.Exists(valPath) ? TokenShard.Open(valPath) : train;
        train.CheckTokenizer(tokenizer);
        if (validation != train) validation.CheckTokenizer(tokenizer);
        this.seed = seed;
    }

    public long TrainTokens => train.Count;
    public long ValidationTokens => validation.Count;

    /// <summary>Micro-batch m of step s draws from counter s·65536 + m, so any accumulation setting stays a pure function of the step.</summary>
    public (Tensor Input, Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, Device device) =>
        new BatchSampler(train, batchSize, seqLen, seed).TrainBatch(step * 65536 + microBatch, device);

    public IEnumerable<(Tensor Input, Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, Device device) =>
        new BatchSampler(validation, batchSize, seqLen, seed).Sequential(device, maxBatches);

    public void Dispose()
    {
        train.Dispose();
        if (validation != train) validation.Dispose();
    }
}
