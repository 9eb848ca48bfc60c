using Gpt4Sharp.Evaluation;

namespace Gpt4Sharp.Tests.Evaluation;

public class PassAtKTests
{
    [Theory]
    // 1 - C(n-c, k) / C(n, k), worked by hand.
    [InlineData(10, 0, 1, 0.0)]
    [InlineData(10, 10, 5, 1.0)]
    [InlineData(10, 3, 1, 0.3)]              // c/n
    [InlineData(5, 2, 2, 0.7)]               // 1 - C(3,2)/C(5,2) = 1 - 3/10
    [InlineData(10, 1, 5, 0.5)]              // 1 - C(9,5)/C(10,5) = 1 - 126/252
    [InlineData(4, 1, 2, 0.5)]               // 1 - C(3,2)/C(4,2) = 1 - 3/6
    [InlineData(20, 2, 10, 1.0 - 90.0 / 380.0)] // 1 - C(18,10)/C(20,10) = 1 - (10·9)/(20·19)
    [InlineData(3, 1, 3, 1.0)]               // n - c < k: every draw contains the correct one
    public void MatchesHandComputedValues(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);

    [Fact]
    public void StaysExactWhereBinomialsOverflow()
    {
        // C(1000, 500) overflows double; the product form does not. 1 - C(999,100)/C(1000,100) = 100/1000.
        Assert.Equal(0.1, PassAtK.Estimate(1000, 1, 100), 12);
        Assert.InRange(PassAtK.Estimate(1000, 3, 500), 0.874, 0.876); // 1 - (500·499·498)/(1000·999·998)
    }

    [Fact]
    public void RejectsKAboveN() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(5, 1, 6));

    [Fact]
    public void SummaryReportsOnlyKThatEveryTaskCanSupport()
    {
        var summary = PassAtK.Summarize([(10, 3), (10, 0), (5, 5)], [1, 5, 10, 100]);
        Assert.Equal(["pass@1", "pass@5"], summary.Keys);
        Assert.Equal((0.3 + 0.0 + 1.0) / 3, summary["pass@1"], 12);
        Assert.Equal((1 - 21.0 / 252 + 0 + 1) / 3, summary["pass@5"], 12); // task 1: 1 - C(7,5)/C(10,5) = 1 - 21/252
    }

    [Fact]
    public void NonPositiveKIsAUserError() =>
        Assert.Throws<UserError>(() => PassAtK.Summarize([(3, 1)], [0]));
}
