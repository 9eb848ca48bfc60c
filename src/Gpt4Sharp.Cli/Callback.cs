namespace Gpt4Sharp.Cli;

/// <summary>Runs the handler on the reporting thread (Progress&lt;T&gt; would post it to the thread pool, later and out of order).</summary>
sealed class Callback<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value)
    {
        lock (this) handler(value);
    }
}
