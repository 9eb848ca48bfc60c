using Gpt4Sharp.Runtime;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Reasoning;

/// <summary>Where the long reasoning commands report progress: training phases, item loops and log lines.</summary>
public interface IReasoningObserver
{
    IProgress<TrainProgress> Training(string phase, int steps);
    IProgress<(int Done, int Total)> Items(string phase, int total);
    void Log(string line);
}

/// <summary>Progress as plain lines, at most one every few seconds per phase (benchmarks, logs, redirected output).</summary>
public sealed class LineObserver(Action<string> write, double everySeconds = 5) : IReasoningObserver
{
    public IProgress<TrainProgress> Training(string phase, int steps) => Throttled<TrainProgress>(p => p.Step == p.Steps || p.ValidationLoss is not null,
        p => $"{phase}: step {p.Step}/{p.Steps} loss {p.Loss:F4} {p.TokensPerSecond:F0} tok/s" + (p.ValidationLoss is { } v ? $" val {v:F4}" : ""));

    public IProgress<(int Done, int Total)> Items(string phase, int total) => Throttled<(int Done, int Total)>(p => p.Done == p.Total,
        p => $"{phase}: {p.Done}/{p.Total}");

    public void Log(string line) => write(line);

    IProgress<T> Throttled<T>(Func<T, bool> always, Func<T, string> describe)
    {
        var last = DateTime.MinValue;
        return new InlineProgress<T>(p =>
        {
            if (!always(p) && (DateTime.UtcNow - last).TotalSeconds < everySeconds) return;
            last = DateTime.UtcNow;
            write(describe(p));
        });
    }
}
