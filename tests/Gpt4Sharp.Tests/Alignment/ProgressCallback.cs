namespace Gpt4Sharp.Tests.Alignment;

/// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool), so a test can cancel at an exact step.</summary>
sealed class ProgressCallback<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
