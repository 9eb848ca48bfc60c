using System.Diagnostics;
using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Forward+backward time and peak memory of one attention head (batch 1, head width 64) at
/// n = 1k..16k for dense causal SDPA and the strided and fixed sparse patterns (block ⌈√n⌉),
/// then the exponent of a least-squares fit of log(time) and log(memory) on log(n) for 2k..16k.
/// Peak memory is the process's resident-set high-water mark above the level before the run
/// (Linux: VmHWM, reset through /proc/self/clear_refs).
/// </summary>
public static class SparseAttentionBench
{
    const int HeadDim = 64;
    const double DenseLimitGb = 8;
    static readonly int[] Sizes = [1024, 2048, 4096, 8192, 16384];

    public static int Run(string[] args)
    {
        var kinds = new[] { AttentionKind.Dense, AttentionKind.SparseStrided, AttentionKind.SparseFixed };
        Measure(AttentionKind.SparseStrided, 1024); // warm-up: first-call allocations and kernel selection
        Measure(AttentionKind.Dense, 1024);
        var results = new Dictionary<AttentionKind, List<(int N, double Seconds, double PeakMb)>>();
        Console.WriteLine($"one head, batch 1, head width {HeadDim}, fp32, {torch.get_num_threads()} threads; sparse block = ceil(sqrt(n)), fixed summary c = 1");
        Console.WriteLine($"{"n",6} {"pattern",-15} {"block",6} {"fwd+bwd s",10} {"peak MB",9}");
        foreach (var n in Sizes)
            foreach (var kind in kinds)
            {
                if (kind == AttentionKind.Dense && DenseBytes(n) / 1e9 > DenseLimitGb)
                {
                    Console.WriteLine($"{n,6} {Name(kind),-15} skipped: would need {DenseBytes(n) / 1e9:F1} GB");
                    continue;
                }
                int repeats = kind != AttentionKind.Dense || n <= 4096 ? 3 : 1; // best of 3 damps a shared machine's noise; dense at 8k+ is too slow to repeat
                var runs = Enumerable.Range(0, repeats).Select(_ => Measure(kind, n)).ToList();
                var best = (Seconds: runs.Min(r => r.Seconds), PeakMb: runs.Max(r => r.PeakMb));
                (results.TryGetValue(kind, out var list) ? list : results[kind] = []).Add((n, best.Seconds, best.PeakMb));
                Console.WriteLine($"{n,6} {Name(kind),-15} {(kind == AttentionKind.Dense ? "-" : Block(n).ToString()),6} {best.Seconds,10:F3} {best.PeakMb,9:F0}");
            }
        Console.WriteLine();
        Console.WriteLine("fitted exponents over n = 2k..16k (time ~ n^a, memory ~ n^b):");
        foreach (var (kind, list) in results)
        {
            var fit = list.Where(r => r.N >= 2048).ToList();
            if (fit.Count < 2) continue;
            Console.WriteLine($"  {Name(kind),-15} time a = {Slope(fit.Select(r => ((double)r.N, r.Seconds))):F2}   memory b = {Slope(fit.Select(r => ((double)r.N, Math.Max(r.PeakMb, 1)))):F2}");
        }
        return 0;
    }

    static (double Seconds, double PeakMb) Measure(AttentionKind kind, int n)
    {
        GC.Collect();
        long before = ProcStatus("VmRSS");
        ResetPeak();
        var clock = Stopwatch.StartNew();
        using (var scope = torch.NewDisposeScope())
        {
            var g = new Generator(1);
            Tensor Leaf() => torch.randn([1, 1, n, HeadDim], generator: g).requires_grad_();
            var (q, k, v) = (Leaf(), Leaf(), Leaf());
            clock.Restart();
            var y = kind == AttentionKind.Dense
                ? F.scaled_dot_product_attention(q, k, v, is_casual: true)
                : SparseAttention.Compute(kind, q, k, v, Block(n), summary: 1);
            y.sum().backward();
            clock.Stop();
        }
        long peak = ProcStatus("VmHWM");
        return (clock.Elapsed.TotalSeconds, (peak - before) / 1024.0);
    }

    static int Block(int n) => (int)Math.Ceiling(Math.Sqrt(n));

    /// <summary>Scores, probabilities and their gradient as n×n fp32 matrices: what unfused dense attention holds at its peak.</summary>
    static double DenseBytes(int n) => 3.0 * n * n * 4;

    static string Name(AttentionKind kind) => GptConfig.AttentionName(kind);

    static double Slope(IEnumerable<(double X, double Y)> points)
    {
        var p = points.Select(t => (X: Math.Log(t.X), Y: Math.Log(t.Y))).ToList();
        double mx = p.Average(t => t.X), my = p.Average(t => t.Y);
        return p.Sum(t => (t.X - mx) * (t.Y - my)) / p.Sum(t => (t.X - mx) * (t.X - mx));
    }

    /// <summary>A /proc/self/status field in kB (0 where unavailable).</summary>
    static long ProcStatus(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Writing 5 to clear_refs resets the peak resident set size (Linux 4.0+).</summary>
    static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
