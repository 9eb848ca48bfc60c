using System.Diagnostics;

namespace Gpt4Sharp.Inference;

/// <summary>
/// Threads that take parts of the decoder's matrix products. Parallel.For hands each part to a
/// thread-pool thread that goes back to sleep between the short products of a decode step, and
/// waking it costs about as much as a small product; the 25M-parameter model lost a third of its
/// decode rate to that. These threads spin for a while after each part (as llama.cpp's workers
/// do) before they sleep, so the products of one token find them awake. One caller at a time
/// uses them; a second concurrent caller runs its parts itself.
/// </summary>
public sealed class ProductWorkers
{
    /// <summary>One helper per core beyond the caller's.</summary>
    public static ProductWorkers Shared { get; } = new(Environment.ProcessorCount - 1);

    readonly Worker[] workers;
    readonly object gate = new();

    ProductWorkers(int count) => workers = [.. Enumerable.Range(0, Math.Max(0, count)).Select(i => new Worker(i))];

    /// <summary>Runs <paramref name="body"/>(0 .. parts-1), part 0 on the calling thread, and returns when every part is done.</summary>
    public void Run(int parts, Action<int> body)
    {
        if (parts <= 1 || workers.Length == 0 || !Monitor.TryEnter(gate))
        {
            for (int part = 0; part < parts; part++) body(part);
            return;
        }
        int helpers = Math.Min(parts - 1, workers.Length);
        var errors = new List<Exception>();
        try
        {
            for (int w = 0; w < helpers; w++) workers[w].Post(body, w + 1);
            try
            {
                body(0);
                for (int part = helpers + 1; part < parts; part++) body(part); // more parts than helpers
            }
            catch (Exception e) { errors.Add(e); }
            // Every posted part finishes before the workers can be posted to again, even after an error.
            for (int w = 0; w < helpers; w++)
                if (workers[w].Join() is { } e) errors.Add(e);
        }
        finally { Monitor.Exit(gate); }
        if (errors.Count > 0) throw new AggregateException(errors);
    }

    sealed class Worker
    {
        const int Idle = 0, Posted = 1, Done = 2;
        static readonly long SpinTicks = Stopwatch.Frequency / 2000; // spin 0.5 ms for the next part before sleeping

        readonly SemaphoreSlim wake = new(0);
        Action<int>? body;
        int part, state, sleeping;
        Exception? error;

        public Worker(int index) => new Thread(Loop) { IsBackground = true, Name = $"decoder worker {index}" }.Start();

        public void Post(Action<int> work, int index)
        {
            (body, part, error) = (work, index, null);
            Interlocked.Exchange(ref state, Posted); // full fence: the part is visible before the flag, and the flag before the sleep check
            if (Volatile.Read(ref sleeping) == 1) wake.Release();
        }

        /// <summary>Waits for the posted part; returns what it threw, if anything.</summary>
        public Exception? Join()
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref state) != Done) spin.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref state, Idle);
            return error;
        }

        void Loop()
        {
            while (true)
            {
                long idleSince = Stopwatch.GetTimestamp();
                var spin = new SpinWait();
                while (Volatile.Read(ref state) != Posted)
                {
                    if (Stopwatch.GetTimestamp() - idleSince < SpinTicks) { spin.SpinOnce(sleep1Threshold: -1); continue; }
                    Interlocked.Exchange(ref sleeping, 1); // full fence before re-reading the state
                    if (Volatile.Read(ref state) != Posted) wake.Wait(); // a release after this read wakes it
                    Volatile.Write(ref sleeping, 0);
                    idleSince = Stopwatch.GetTimestamp();
                }
                try { body!(part); }
                catch (Exception e) { error = e; }
                Volatile.Write(ref state, Done);
            }
        }
    }
}
