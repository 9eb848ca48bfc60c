using System.Collections.Concurrent;
using System.Diagnostics;

namespace Gpt4Sharp.Evaluation.Sandbox;

/// <summary>
/// Starts child processes from one long-lived thread. bubblewrap's --die-with-parent uses
/// PR_SET_PDEATHSIG, which fires when the *thread* that forked the child exits; a thread-pool
/// thread that retires would SIGKILL a healthy sandbox. Forking from a thread that lives as
/// long as the process keeps the signal for its real purpose: the harness dying.
/// </summary>
static class LauncherThread
{
    static readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Started)> Requests = [];

    static LauncherThread()
    {
        var thread = new Thread(() =>
        {
            foreach (var (start, started) in Requests.GetConsumingEnumerable())
            {
                try { started.SetResult(Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}")); }
                catch (Exception e) { started.SetException(e); }
            }
        }) { IsBackground = true, Name = "sandbox launcher" };
        thread.Start();
    }

    public static Task<Process> StartAsync(ProcessStartInfo start)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((start, started));
        return started.Task;
    }
}
