using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Training;

/// <summary>A learnable token stream (a repeating pattern with seeded noise) with batches that depend only on (seed, step, micro).</summary>
sealed class PatternData(int vocab, int length = 4096, long seed = 5) : ITrainingData
{
    readonly long[] tokens = Make(vocab, length, seed);

    static long[] Make(int vocab, int length, long seed)
    {
        var rng = new Random((int)seed);
        var pattern = Enumerable.Range(0, 11).Select(_ => (long)rng.Next(vocab)).ToArray();
        return Enumerable.Range(0, length).Select(i => i % 50 == 49 ? rng.Next(vocab) : pattern[i % pattern.Length]).ToArray();
    }

    public (Tensor Input, Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, Device device)
    {
        var rng = new Random(HashCode.Combine(seed, step, microBatch));
        return Windows(Enumerable.Range(0, batchSize).Select(_ => rng.Next(tokens.Length - seqLen - 1)), seqLen, device);
    }

    public IEnumerable<(Tensor Input, Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, Device device)
    {
        for (int b = 0; b < maxBatches; b++)
            yield return Windows(Enumerable.Range(0, batchSize).Select(i => (b * batchSize + i) * 7 % (tokens.Length - seqLen - 1)), seqLen, device);
    }

    (Tensor, Tensor) Windows(IEnumerable<int> starts, int seqLen, Device device)
    {
        var s = starts.ToArray();
        var x = s.SelectMany(i => tokens.Skip(i).Take(seqLen)).ToArray();
        var y = s.SelectMany(i => tokens.Skip(i + 1).Take(seqLen)).ToArray();
        return (torch.tensor(x, [s.Length, seqLen], device: device), torch.tensor(y, [s.Length, seqLen], device: device));
    }
}
