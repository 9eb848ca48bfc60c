using System.Diagnostics;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Bench;

/// <summary>
/// What `gpt4sharp scaling --workers N` buys: one small sweep (a grid larger than the test's tiny
/// one) trained three times in this process, each from scratch in its own temporary directory:
/// sequentially with all of libtorch's threads (the default), sequentially with one thread (as
/// under OMP_NUM_THREADS=1), and with N workers (default 2) sharing the threads. Prints the wall
/// times (whole sweep, and from the first run's start, which leaves out the shared tokenizer and
/// shards every sweep builds alike), the speed-ups, and whether the runs' final losses agree.
/// Usage: scaling-workers [workers]
/// </summary>
public static class ScalingWorkersBench
{
    public static int Run(string[] args)
    {
        int workers = args.Length > 0 ? int.Parse(args[0]) : 2;
        TorchRuntime.EnsureLoaded();
        int threads = torch.get_num_threads();
        var root = Directory.CreateTempSubdirectory("g4s-scaling-workers-").FullName;
        try
        {
            var sweeps = new List<Timing> { Sweep(root, 1, threads) };
            if (threads > 1) sweeps.Add(Sweep(root, 1, 1));
            sweeps.Add(Sweep(root, workers, threads));
            var (reference, parallel) = (sweeps[0], sweeps[^1]);
            Console.WriteLine($"{reference.Result.Points.Count} runs, {reference.Result.Points.Sum(p => p.Plan.Steps):N0} steps; libtorch has {threads} threads");
            foreach (var s in sweeps)
                Console.WriteLine($"{s.Workers} worker{(s.Workers > 1 ? "s" : " ")} x {s.ThreadsPerRun} thread{(s.ThreadsPerRun > 1 ? "s" : " ")}: sweep {s.Seconds,6:F1} s, runs {s.RunSeconds,6:F1} s");
            foreach (var s in sweeps.SkipLast(1))
                Console.WriteLine($"speed-up of {workers} workers over {s.Workers} worker x {s.ThreadsPerRun} thread(s): {s.Seconds / parallel.Seconds:F2}x the sweep, {s.RunSeconds / parallel.RunSeconds:F2}x the runs");
            bool allIdentical = true;
            foreach (var s in sweeps.Skip(1))
            {
                var pairs = reference.Result.Points.Zip(s.Result.Points).ToList();
                int identical = pairs.Count(p => p.First.FinalLoss == p.Second.FinalLoss);
                allIdentical &= identical == pairs.Count;
                Console.WriteLine($"final losses, {s.Workers} worker(s) x {s.ThreadsPerRun} thread(s) vs the first sweep: {identical} of {pairs.Count} runs bit-identical, " +
                    $"largest relative difference {pairs.Max(p => Math.Abs(p.First.FinalLoss - p.Second.FinalLoss) / p.First.FinalLoss):G3}; loss prediction {s.Result.Loss.Predicted:F6} vs {reference.Result.Loss.Predicted:F6}");
            }
            // Different thread counts may reorder floating-point sums, so only a difference at equal threads is a failure.
            if (!allIdentical) Console.WriteLine("(runs with different thread counts per run may differ in the last bits: libtorch may split sums differently)");
            return sweeps.Skip(1).Any(s => s.ThreadsPerRun == reference.ThreadsPerRun && !s.Result.Points.Select(p => p.FinalLoss).SequenceEqual(reference.Result.Points.Select(p => p.FinalLoss))) ? 1 : 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>13 runs, 3,101 steps: the tiny test grid with twice its widths, 4x its tokens per parameter and twice its sequence length.</summary>
    static ScalingSettings Grid(string directory, int workers) => ScalingSettings.Tiny(directory) with
    {
        FittedWidths = [8, 12, 16], TargetWidth = 32, TokensPerParameter = 8, SequenceLength = 64, BatchSize = 4, WarmupSteps = 5,
        CorpusDocuments = 4000, EvalBatches = 8, Workers = workers,
    };

    record Timing(ScalingResult Result, int Workers, int ThreadsPerRun, double Seconds, double RunSeconds);

    /// <summary>One sweep with <paramref name="threads"/> libtorch threads shared among <paramref name="workers"/> workers.</summary>
    static Timing Sweep(string root, int workers, int threads)
    {
        int perRun = Math.Max(1, threads / workers);
        Console.WriteLine($"training the sweep with {workers} worker(s) x {perRun} thread(s)...");
        int before = torch.get_num_threads();
        torch.set_num_threads(threads); // the sweep shares out the caller's thread count
        try
        {
            var clock = Stopwatch.StartNew();
            var observer = new FirstRunClock(clock);
            var result = ScalingSweep.RunAsync(Grid(Path.Combine(root, $"w{workers}-t{threads}"), workers), observer).GetAwaiter().GetResult();
            double seconds = clock.Elapsed.TotalSeconds;
            return new Timing(result, workers, perRun, seconds, seconds - observer.FirstRunStarted!.Value.TotalSeconds);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    /// <summary>Notes when the sweep's first run starts (its workers call this concurrently).</summary>
    sealed class FirstRunClock(Stopwatch sweep) : ISweepObserver
    {
        long startedTicks = -1;

        public TimeSpan? FirstRunStarted => startedTicks < 0 ? null : TimeSpan.FromTicks(startedTicks);

        public IProgress<TrainProgress>? RunStarting(SweepRunPlan plan)
        {
            Interlocked.CompareExchange(ref startedTicks, sweep.Elapsed.Ticks, -1);
            return null;
        }
    }
}
