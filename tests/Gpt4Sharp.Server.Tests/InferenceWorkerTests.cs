namespace Gpt4Sharp.Server.Tests;

public sealed class InferenceWorkerTests
{
    [Fact]
    public async Task Jobs_run_in_order_on_the_one_inference_thread_even_across_awaits()
    {
        using var worker = new InferenceWorker();
        var order = new List<int>();
        var jobs = Enumerable.Range(0, 20).Select(i => worker.RunAsync(async () =>
        {
            int before = Environment.CurrentManagedThreadId;
            await Task.Yield(); // TextGenerator yields between tokens; the job must come back to the same thread
            order.Add(i);
            return (before, after: Environment.CurrentManagedThreadId);
        })).ToList();
        var threads = await Task.WhenAll(jobs);

        Assert.All(threads, t => Assert.Equal((worker.ThreadId, worker.ThreadId), t));
        Assert.NotEqual(Environment.CurrentManagedThreadId, worker.ThreadId);
        Assert.Equal(Enumerable.Range(0, 20), order);
    }

    [Fact]
    public async Task A_failing_job_reports_its_exception_and_the_worker_goes_on()
    {
        using var worker = new InferenceWorker();
        await Assert.ThrowsAsync<InvalidOperationException>(() => worker.RunAsync(new Func<int>(() => throw new InvalidOperationException("boom"))));
        Assert.Equal(42, await worker.RunAsync(() => 42));
    }
}
