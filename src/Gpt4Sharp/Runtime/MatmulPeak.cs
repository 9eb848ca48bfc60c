using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Runtime;

/// <summary>
/// Measures this machine's matmul throughput, the peak that model FLOPs utilisation (MFU) is
/// reported against. Measured in the same process as the run it judges, so the ratio is fair.
/// </summary>
public static class MatmulPeak
{
    /// <summary>FLOP/s of an n×n by n×n matmul in <paramref name="dtype"/>, best of repeated timed rounds.</summary>
    public static double Measure(ScalarType dtype = ScalarType.Float32, int n = 1024, double seconds = 1.5, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var a = torch.randn(n, n, device: device).to(dtype);
        var b = torch.randn(n, n, device: device).to(dtype);
        for (int i = 0; i < 3; i++) a.matmul(b).Dispose();
        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            const int reps = 5;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) a.matmul(b).Dispose();
            if (device?.type == DeviceType.CUDA) torch.cuda.synchronize();
            best = Math.Max(best, reps * 2.0 * n * n * n / sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
