using Gpt4Sharp.Generation;
using TorchSharp;

namespace Gpt4Sharp.Server.Tests;

public sealed class BatchSamplerTests
{
    static readonly float[] Logits = [2f, 1f, 0f, -1f];

    static long[] Draw(IReadOnlyList<BatchSampler.Row> rows)
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(Logits).unsqueeze(0).expand(rows.Count, -1).contiguous();
        return BatchSampler.Choose(logits, rows);
    }

    [Fact]
    public void Greedy_top_k_1_and_a_tiny_top_p_all_pick_the_best_token()
    {
        var rows = new[] { SamplingOptions.Greedy(1), new SamplingOptions { TopK = 1 }, new SamplingOptions { TopP = 1e-6 } }.Select(o => new BatchSampler.Row(o)).ToList();
        Assert.Equal([0L, 0L, 0L], Draw(rows));
    }

    [Theory]
    [InlineData(1.0, new[] { 0.644, 0.237, 0.087, 0.032 })] // softmax of the logits
    [InlineData(0.7, new[] { 0.731, 0.269, 0.0, 0.0 })]     // top-p keeps tokens until those before reach p, renormalised
    public void Sampled_rows_follow_the_filtered_distribution(double topP, double[] expected)
    {
        var rows = Enumerable.Range(0, 4000).Select(seed => new BatchSampler.Row(new SamplingOptions { TopP = topP, Seed = seed })).ToList();
        var tokens = Draw(rows);
        for (int t = 0; t < 4; t++)
        {
            double share = tokens.Count(x => x == t) / 4000.0;
            Assert.True(Math.Abs(share - expected[t]) < 0.03, $"token {t}: {share:F3} drawn, {expected[t]:F3} expected");
        }
    }

    [Fact]
    public void A_seeded_row_draws_the_same_tokens_alone_or_among_other_rows()
    {
        var alone = new BatchSampler.Row(new SamplingOptions { Seed = 42 });
        var together = new BatchSampler.Row(new SamplingOptions { Seed = 42 });
        var others = Enumerable.Range(0, 5).Select(i => new BatchSampler.Row(new SamplingOptions { Seed = i, Temperature = 0.5 + i * 0.2 })).ToList();
        for (int step = 0; step < 30; step++)
            Assert.Equal(Draw([alone])[0], Draw([.. others.Take(2), together, .. others.Skip(2)])[2]);
    }
}
