using System.Diagnostics;
using Gpt4Sharp.Model;
using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>Trains a tiny model for 2,000 steps and prints live native tensors and resident memory along the way.</summary>
public static class MemoryBench
{
    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 2000;
        var config = new GptConfig { VocabSize = 256, ContextLength = 64, DModel = 64, Layers = 2, Heads = 2, KvHeads = 2 };
        using var model = new GptModel(config);
        using var trainer = new Trainer(model, new TrainConfig { Steps = steps, BatchSize = 8, SequenceLength = 64, WarmupSteps = 10, EvalEvery = 0 }, new Random256());
        Console.WriteLine($"{"step",6} {"live tensors",13} {"resident MB",12}");
        for (int step = 1; step <= steps; step++)
        {
            trainer.TrainStep();
            if (step is 10 or 100 || step % 500 == 0)
            {
                GC.Collect();
                Console.WriteLine($"{step,6} {DisposeScopeManager.Statistics.ThreadTotalLiveCount,13} {Process.GetCurrentProcess().WorkingSet64 / 1e6,12:F1}");
            }
        }
        return 0;
    }

    sealed class Random256 : ITrainingData
    {
        public (Tensor Input, Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, Device device)
        {
            var all = torch.randint(0, 256, [batchSize, seqLen + 1], device: device);
            return (all.narrow(1, 0, seqLen), all.narrow(1, 1, seqLen));
        }

        public IEnumerable<(Tensor Input, Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, Device device) => [];
    }
}
