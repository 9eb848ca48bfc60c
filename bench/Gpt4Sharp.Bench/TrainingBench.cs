using System.Diagnostics;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Training throughput of the Llama-style model (vocabulary 8192, heads of width 64, SwiGLU
/// 8d/3 rounded to 64, tied embeddings, AdamW) and its MFU against fp32 and bf16 matmul
/// peaks measured in this process. MFU counts 6·N + 12·L·T·d FLOPs per token.
/// </summary>
public static class TrainingBench
{
    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 12;
        double fp32Peak = MatmulPeak.Measure(ScalarType.Float32);
        double bf16Peak = MatmulPeak.Measure(ScalarType.BFloat16);
        Console.WriteLine($"matmul peak: fp32 {fp32Peak / 1e9:F0} GFLOP/s, bf16 {bf16Peak / 1e9:F0} GFLOP/s ({torch.get_num_threads()} threads)");
        double ours256 = 0;
        Console.WriteLine($"{"model",-14} {"params",8} {"batch",5} {"dtype",5} {"tokens/s",9} {"GFLOP/s",8} {"MFU fp32",9} {"MFU bf16",9}");
        foreach (var (d, layers, batch) in new[] { (256, 4, 8), (512, 8, 8) })
            foreach (var bf16 in new[] { false, true })
            {
                var config = new GptConfig { VocabSize = 8192, ContextLength = 256, DModel = d, Layers = layers, Heads = d / 64, KvHeads = d / 64 };
                double tokensPerSecond = Measure(config, new TrainConfig { Steps = 1000, BatchSize = batch, SequenceLength = 256, WarmupSteps = 0, EvalEvery = 0, Bf16 = bf16 }, steps);
                double flops = tokensPerSecond * config.TrainingFlopsPerToken(256);
                Console.WriteLine($"d={d}/L={layers,-8} {config.ParameterCount / 1e6,7:F1}M {batch,5} {(bf16 ? "bf16" : "fp32"),5} {tokensPerSecond,9:F0} {flops / 1e9,8:F1} {flops / fp32Peak,9:P1} {flops / bf16Peak,9:P1}");
                if (d == 256 && !bf16) ours256 = tokensPerSecond;
            }
        if (PyTorchTokensPerSecond(256, 4, 8, steps) is { } pytorch)
            Console.WriteLine($"PyTorch (Debian python3-torch) d=256/L=4 fp32: {pytorch:F0} tokens/s; Gpt4Sharp / PyTorch = {ours256 / pytorch:F2}x");
        else
            Console.WriteLine("PyTorch comparison skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch).");
        return 0;
    }

    /// <summary>Runs bench/pytorch_train_reference.py with Debian's python3-torch, or null when it is not installed.</summary>
    static double? PyTorchTokensPerSecond(int d, int layers, int batch, int steps)
    {
        var script = FindUp("bench/pytorch_train_reference.py");
        if (script is null || !File.Exists("/usr/bin/python3")) return null;
        var psi = new ProcessStartInfo("/usr/bin/python3", [script, $"{d}", $"{layers}", $"{batch}", $"{steps}"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var python = Process.Start(psi)!;
        var output = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        return python.ExitCode == 0 && double.TryParse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    static string? FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        return null;
    }

    static double Measure(GptConfig config, TrainConfig train, int steps)
    {
        using var model = new GptModel(config);
        using var trainer = new Trainer(model, train, new RandomTokens(config.VocabSize));
        for (int i = 0; i < 2; i++) trainer.TrainStep();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) trainer.TrainStep();
        return steps * train.TokensPerStep / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Uniform random tokens: throughput does not depend on the data.</summary>
    sealed class RandomTokens(int vocab) : ITrainingData
    {
        public (Tensor Input, Tensor Target) TrainBatch(long step, int microBatch, int batchSize, int seqLen, Device device)
        {
            var all = torch.randint(0, vocab, [batchSize, seqLen + 1], device: device);
            return (all.narrow(1, 0, seqLen), all.narrow(1, 1, seqLen));
        }

        public IEnumerable<(Tensor Input, Tensor Target)> ValidationBatches(int batchSize, int seqLen, int maxBatches, Device device) =>
            Enumerable.Range(0, maxBatches).Select(i => TrainBatch(i, 0, batchSize, seqLen, device));
    }
}
