namespace Gpt4Sharp.Runtime;

/// <summary>
/// Runs the handler on the reporting thread, one report at a time (Progress&lt;T&gt; would post it
/// to the thread pool, later and out of order, which scrambles progress lines).
/// </summary>
public sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value)
    {
        lock (this) handler(value);
    }
}
