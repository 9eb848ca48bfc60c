using Gpt4Sharp.Inference;

namespace Gpt4Sharp.Tests.Inference;

public class ProductWorkersTests
{
    [Fact]
    public void Every_part_runs_once_across_many_rounds_and_from_concurrent_callers()
    {
        const int parts = 5, rounds = 2000;
        var counts = new int[2, parts];
        Parallel.For(0, 2, caller =>
        {
            for (int round = 0; round < rounds; round++)
                ProductWorkers.Shared.Run(parts, part => Interlocked.Increment(ref counts[caller, part]));
        });
        for (int caller = 0; caller < 2; caller++)
            for (int part = 0; part < parts; part++) Assert.Equal(rounds, counts[caller, part]);
    }

    [Fact]
    public void A_failing_part_is_reported_after_all_parts_finish_and_the_workers_keep_working()
    {
        int finished = 0;
        var error = Assert.Throws<AggregateException>(() => ProductWorkers.Shared.Run(3, part =>
        {
            if (part == 1) throw new InvalidOperationException("part 1");
            Thread.Sleep(20);
            Interlocked.Increment(ref finished);
        }));
        Assert.Contains(error.InnerExceptions, e => e.Message == "part 1");
        Assert.Equal(2, finished);
        int ran = 0;
        ProductWorkers.Shared.Run(3, _ => Interlocked.Increment(ref ran));
        Assert.Equal(3, ran);
    }
}
