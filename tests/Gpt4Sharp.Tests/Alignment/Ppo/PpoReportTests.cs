using Gpt4Sharp.Alignment.Ppo;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class PpoReportTests
{
    [Fact]
    public void The_one_line_summary_gives_each_rate_with_its_probe_size_and_none_for_an_empty_probe()
    {
        var rates = new AlignmentRates(double.NaN, 0, 0.25, 8, 0.125, 16, double.NaN, 0, 0.5, 2);
        Assert.Equal("harmful compliance - of 0, over-refusal 25.0 % of 8, closed-domain hallucination 12.5 % of 16; " +
            "red team: harmful compliance - of 0, over-refusal 50.0 % of 2", PpoReport.Describe(rates));
    }
}
