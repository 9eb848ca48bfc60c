using Gpt4Sharp.Alignment.Intent;

namespace Gpt4Sharp.Tests.Alignment.Intent;

public class SeparationCurveTests
{
    // Higher = more harmful. Sorted harmful: 0.9, 0.8, 0.7, 0.1.
    static readonly double[] Harmful = [0.7, 0.9, 0.1, 0.8];
    static readonly double[] Benign = [0.85, 0.5, 0.2, 0.05, 0.75];

    [Theory]
    [InlineData(1, 0.9, 0)]   // only the top harmful score: no benign is that high
    [InlineData(2, 0.8, 1)]   // 0.85
    [InlineData(3, 0.7, 2)]   // 0.85, 0.75
    [InlineData(4, 0.1, 4)]   // all but 0.05
    public void Flagging_k_harmful_flags_the_benign_scores_at_or_above_the_kth_harmful_score(int k, double threshold, int benignFlagged)
    {
        var point = SeparationCurve.AtHarmfulFlagged(Harmful, Benign, k);
        Assert.Equal(threshold, point.Threshold);
        Assert.Equal(k, point.HarmfulFlagged);
        Assert.Equal(benignFlagged, point.BenignFlagged);
        Assert.Equal((4, 5), (point.Harmful, point.Benign));
    }

    [Fact]
    public void Recall_rounds_up_to_whole_prompts_so_99_percent_of_108_is_107()
    {
        var harmful = Enumerable.Range(0, 108).Select(i => (double)i).ToArray();   // 0..107
        double[] benign = [0.5, 1.5, 50, 106.5];
        var p99 = SeparationCurve.AtRecall(harmful, benign, 0.99);
        Assert.Equal(107, p99.HarmfulFlagged);
        Assert.Equal(1.0, p99.Threshold);
        Assert.Equal(3, p99.BenignFlagged);                                         // 1.5, 50, 106.5
        Assert.Equal(4, SeparationCurve.AtRecall(harmful, benign, 1.0).BenignFlagged);
        var p90 = SeparationCurve.AtRecall(harmful, benign, 0.90);                 // ceil(97.2) = 98 flagged: threshold 10
        Assert.Equal((98, 10.0, 2), (p90.HarmfulFlagged, p90.Threshold, p90.BenignFlagged));
        // 0.99 x 100 is 99.00000000000001 in floating point; it must still mean 99, not 100.
        Assert.Equal(99, SeparationCurve.AtRecall(Enumerable.Range(0, 100).Select(i => (double)i).ToArray(), benign, 0.99).HarmfulFlagged);
    }

    [Fact]
    public void Ties_are_flagged_on_both_sides_and_count_half_in_the_auc()
    {
        var point = SeparationCurve.AtHarmfulFlagged([0.5, 0.5, 0.1], [0.5, 0.2], 1);
        Assert.Equal((2, 1), (point.HarmfulFlagged, point.BenignFlagged));
        Assert.Equal(0.5, SeparationCurve.Auc([0.5], [0.5]));
        Assert.Equal((2 * 1.5 + 0) / 6, SeparationCurve.Auc([0.5, 0.5, 0.1], [0.5, 0.2]), 12);
    }

    [Fact]
    public void Auc_counts_the_harmful_benign_pairs_in_the_right_order()
    {
        // 0.9 beats 5, 0.8 beats 4, 0.7 beats 3, 0.1 beats 1: 13 of 20.
        Assert.Equal(13.0 / 20, SeparationCurve.Auc(Harmful, Benign), 12);
        Assert.Equal(1.0, SeparationCurve.Auc([2, 3], [0, 1]));
        Assert.Equal(0.0, SeparationCurve.Auc([0, 1], [2, 3]));
        Assert.True(double.IsNaN(SeparationCurve.Auc([1], [])));
    }

    [Fact]
    public void Impossible_requests_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SeparationCurve.AtHarmfulFlagged(Harmful, Benign, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeparationCurve.AtHarmfulFlagged(Harmful, Benign, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeparationCurve.AtRecall(Harmful, Benign, 0));
        Assert.Throws<ArgumentException>(() => SeparationCurve.AtHarmfulFlagged([], Benign, 1));
    }
}
