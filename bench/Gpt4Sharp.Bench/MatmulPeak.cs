using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>Measures the machine's matmul throughput: the peak that MFU is reported against.</summary>
public static class MatmulPeak
{
    public static int Run(string[] args)
    {
        Console.WriteLine($"fp32 1024² matmul: {Measure(ScalarType.Float32) / 1e9:F0} GFLOP/s");
        Console.WriteLine($"bf16 1024² matmul: {Measure(ScalarType.BFloat16) / 1e9:F0} GFLOP/s");
        return 0;
    }

    /// <summary>FLOP/s of an n×n by n×n matmul in the given dtype, best of several timed rounds.</summary>
    public static double Measure(ScalarType dtype, int n = 1024, double seconds = 1.5)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var a = torch.randn(n, n).to(dtype);
        var b = torch.randn(n, n).to(dtype);
        for (int i = 0; i < 3; i++) a.matmul(b).Dispose();
        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            const int reps = 5;
            for (int i = 0; i < reps; i++) a.matmul(b).Dispose();
            best = Math.Max(best, reps * 2.0 * n * n * n / sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
