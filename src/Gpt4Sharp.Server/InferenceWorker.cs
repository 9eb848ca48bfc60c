using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Gpt4Sharp.Server;

/// <summary>
/// Runs every piece of model code on one dedicated thread, fed by a channel. TorchSharp's
/// dispose scopes are thread-local and one model is not safe to drive from several threads,
/// so ASP.NET request threads only enqueue work and await its result. The thread carries a
/// single-threaded synchronization context so that awaits inside a job (TextGenerator yields
/// between tokens) resume on this same thread instead of hopping to the thread pool.
/// </summary>
public sealed class InferenceWorker : IDisposable
{
    readonly Channel<Func<Task>> _jobs = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    readonly Thread _thread;

    public InferenceWorker()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "gpt4sharp-inference" };
        _thread.Start();
    }

    IBatchStepper? _stepper;

    /// <summary>Attaches the continuous batch: the thread calls its <see cref="IBatchStepper.Step"/> whenever no job is queued and it has work.</summary>
    public void Attach(IBatchStepper stepper)
    {
        if (Interlocked.CompareExchange(ref _stepper, stepper, null) is not null) throw new InvalidOperationException("The inference thread already drives a batch.");
    }

    /// <summary>Wakes the thread after new batch work arrived (an empty job ends its wait).</summary>
    public void Wake() => _jobs.Writer.TryWrite(static () => Task.CompletedTask);

    /// <summary>Jobs waiting, not counting the one running.</summary>
    public int QueueLength => _jobs.Reader.Count;

    /// <summary>The managed thread id of the inference thread (tests check model code runs there).</summary>
    public int ThreadId => _thread.ManagedThreadId;

    /// <summary>Queues <paramref name="job"/> and completes with its result once the inference thread has run it.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> job)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Wrapped()
        {
            try { done.SetResult(await job()); }
            catch (Exception e) { done.SetException(e); }
        }
        if (!_jobs.Writer.TryWrite(Wrapped)) throw new ObjectDisposedException(nameof(InferenceWorker));
        return done.Task;
    }

    public Task<T> RunAsync<T>(Func<T> job) => RunAsync(() => Task.FromResult(job()));

    void Loop()
    {
        var context = new PumpContext();
        SynchronizationContext.SetSynchronizationContext(context);
        async Task Drain()
        {
            while (true)
            {
                while (_jobs.Reader.TryRead(out var job)) await job();
                // Between queued jobs the attached batch advances by one step, so requests join and
                // leave it while other model work (scoring) still gets its turn.
                if (_stepper is { HasWork: true } stepper) { stepper.Step(); continue; }
                if (!await _jobs.Reader.WaitToReadAsync()) break;
            }
        }
        var drained = Drain();
        drained.ContinueWith(_ => context.Complete(), TaskScheduler.Default);
        context.Pump();
    }

    public void Dispose()
    {
        _jobs.Writer.TryComplete();
        _thread.Join(TimeSpan.FromSeconds(10));
    }

    /// <summary>A message pump for one thread; the BCL has none outside UI frameworks, so it is written here (a queue and a loop).</summary>
    sealed class PumpContext : SynchronizationContext
    {
        readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];

        public override void Post(SendOrPostCallback d, object? state)
        {
            try { _queue.Add((d, state)); }
            catch (InvalidOperationException) { ThreadPool.QueueUserWorkItem(_ => d(state)); } // pump already stopped
        }

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("The inference thread only accepts posted work.");

        public void Pump()
        {
            foreach (var (callback, state) in _queue.GetConsumingEnumerable()) callback(state);
        }

        public void Complete() => _queue.CompleteAdding();
    }
}

/// <summary>Work the inference thread advances one step at a time between jobs (the continuous batch).</summary>
public interface IBatchStepper
{
    bool HasWork { get; }
    void Step();
}
