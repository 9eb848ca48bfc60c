using Gpt4Sharp.Data;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Tests.Support;
using TorchSharp;

namespace Gpt4Sharp.Tests.Data;

public class BatchSamplerTests
{
    static TokenShard MakeShard(out long[] tokens)
    {
        TorchRuntime.EnsureLoaded();
        var docs = Enumerable.Range(0, 30).Select(i => $"doc {i} " + string.Concat(Enumerable.Repeat("xyz", i)));
        var summary = TokenShardWriter.Prepare(docs, new ByteTokenizer(), RepoPaths.NewTempDir(), 0.2, seed: 3);
        var shard = TokenShard.Open(summary.TrainPath);
        tokens = new long[shard.Count];
        shard.Read(0, tokens);
        return shard;
    }

    [Fact]
    public void Training_batches_are_shifted_windows_of_the_shard()
    {
        using var shard = MakeShard(out var tokens);
        var sampler = new BatchSampler(shard, batchSize: 4, contextLength: 16, seed: 11);
        using var scope = torch.NewDisposeScope();
        var (input, target) = sampler.TrainBatch(step: 5, torch.CPU);
        Assert.Equal(new long[] { 4, 16 }, input.shape);
        Assert.Equal(torch.ScalarType.Int64, target.dtype);
        for (var row = 0; row < 4; row++)
        {
            var start = sampler.WindowStart(5, row);
            Assert.InRange(start, 0, shard.Count - 17);
            Assert.Equal(tokens.AsSpan((int)start, 16).ToArray(), input[row].data<long>().ToArray());
            Assert.Equal(tokens.AsSpan((int)start + 1, 16).ToArray(), target[row].data<long>().ToArray());
        }
    }

    [Fact]
    public void Batches_depend_only_on_seed_and_step_so_a_resumed_run_sees_the_same_data()
    {
        using var shard = MakeShard(out _);
        var uninterrupted = new BatchSampler(shard, 3, 8, seed: 42);
        var resumed = new BatchSampler(shard, 3, 8, seed: 42);
        using var scope = torch.NewDisposeScope();
        var fromStart = Enumerable.Range(0, 10).Select(s => uninterrupted.TrainBatch(s, torch.CPU).Input.data<long>().ToArray()).ToList();
        for (var step = 9; step >= 6; step--) // out of order on purpose
            Assert.Equal(fromStart[step], resumed.TrainBatch(step, torch.CPU).Input.data<long>().ToArray());
        Assert.NotEqual(fromStart[0], fromStart[1]);
        Assert.NotEqual(fromStart[3], new BatchSampler(shard, 3, 8, seed: 43).TrainBatch(3, torch.CPU).Input.data<long>().ToArray());
    }

    [Fact]
    public void Sequential_pass_predicts_every_token_once_in_order()
    {
        using var shard = MakeShard(out var tokens);
        var sampler = new BatchSampler(shard, batchSize: 5, contextLength: 7, seed: 0);
        var targets = new List<long>();
        var rows = new List<long>();
        foreach (var (input, target) in sampler.Sequential(torch.CPU))
        {
            using (input)
            using (target)
            {
                rows.Add(input.shape[0]);
                targets.AddRange(target.data<long>().ToArray());
            }
        }
        var windows = (shard.Count - 1) / 7;
        Assert.Equal(windows, rows.Sum());
        Assert.All(rows.SkipLast(1), r => Assert.Equal(5, r));
        Assert.Equal(tokens.AsSpan(1, (int)windows * 7).ToArray(), targets);
        Assert.Equal(2, sampler.Sequential(torch.CPU, maxBatches: 2).Count());
    }

    [Fact]
    public void Sampling_in_a_dispose_scope_leaves_no_live_tensors()
    {
        using var shard = MakeShard(out _);
        var sampler = new BatchSampler(shard, 2, 8, seed: 1);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount; // per thread: other tests run in parallel
        for (var step = 0; step < 50; step++)
        {
            using var scope = torch.NewDisposeScope();
            var (input, target) = sampler.TrainBatch(step, torch.CPU);
            _ = (input + target).sum().item<long>();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        var leaked = sampler.TrainBatch(0, torch.CPU); // and the counter does see tensors left alive
        Assert.Equal(before + 2, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        leaked.Input.Dispose();
        leaked.Target.Dispose();
    }

    [Fact]
    public void A_shard_shorter_than_the_context_is_a_user_error()
    {
        using var shard = MakeShard(out _);
        var e = Assert.Throws<UserError>(() => new BatchSampler(shard, 2, (int)shard.Count, seed: 1));
        Assert.Contains("needs at least", e.Message);
    }
}
