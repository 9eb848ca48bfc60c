using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

/// <summary>The fit-window regime check: whether a window's points have the shape a·C^(−b) + c can carry.</summary>
public class FitRegimeTests
{
    static readonly double[] Budgets = [4.8e10, 8.4e10, 1.45e11, 2.5e11];

    static List<FrontierPoint> Window(Func<double, double> law) => [.. Budgets.Select(c => new FrontierPoint(c, law(c), $"b{c:G2}"))];

    [Fact]
    public void ALawWithAFloorFlattensAndAPurePowerLawIsSteady()
    {
        var withFloor = RegimeCheck.Of(Window(c => 1e4 * Math.Pow(c, -0.4) + 0.5));
        Assert.Equal(FitRegime.Flattening, withFloor.Regime);
        // Each slope is the secant of ln y against ln C, here between the law's local slopes −b·(y − c)/y.
        Assert.Equal(3, withFloor.Slopes.Count);
        Assert.All(withFloor.Slopes, s => Assert.InRange(s, -0.4, 0));
        Assert.True(withFloor.Slopes[0] < withFloor.Slopes[^1]);

        var pure = RegimeCheck.Of(Window(c => 1e4 * Math.Pow(c, -0.4)));
        Assert.Equal(FitRegime.Steady, pure.Regime);
        Assert.All(pure.Slopes, s => Assert.Equal(-0.4, s, 1e-9));
    }

    [Fact]
    public void AFallThatSteepensIsFlaggedWhateverTheOrderOfThePoints()
    {
        // Seed 127's arithmetic tokens at the default grid's top four budgets (session 9): 2.06, 1.74, 1.37, 1.01.
        var arithmetic = new List<FrontierPoint>
        {
            new(1.45e11, 1.366, "fit-d32-b6"), new(4.83e10, 2.064, "fit-d20-b4"), new(2.51e11, 1.007, "fit-d32-b7"), new(8.37e10, 1.745, "fit-d20-b5"),
        };
        var check = RegimeCheck.Of(arithmetic);
        Assert.Equal(FitRegime.Steepening, check.Regime);
        Assert.Equal([-0.31, -0.45, -0.56], check.Slopes.Select(s => Math.Round(s, 2)));
        Assert.StartsWith("steepening (log-log slopes −0.31 −0.45 −0.56): still being learnt", check.Describe());
    }

    [Fact]
    public void TwoPointsCannotShowAShape()
    {
        var check = RegimeCheck.Of(Window(c => 1e4 * Math.Pow(c, -0.4) + 0.5).Take(2).ToList());
        Assert.Equal(FitRegime.Steady, check.Regime);
        Assert.Single(check.Slopes);
        Assert.Empty(RegimeCheck.Of([]).Slopes);
    }

    [Fact]
    public void TheMixtureNamesTheFamiliesThatDoNotFlatten()
    {
        Prediction Law(string family, Func<double, double> value)
        {
            var window = Window(value);
            var fit = PowerLawFit.Fit([.. window.Select(p => p.Compute)], [.. window.Select(p => p.Value)]);
            return new Prediction(family, fit, 7.5e12, fit.Law.At(7.5e12)) { Frontier = window };
        }
        var mixture = new MixturePrediction(
        [
            new FamilyPrediction("code", 0.8, Law("code", c => 1e10 * Math.Pow(c, -1.0) + 0.42)),
            new FamilyPrediction("arithmetic", 0.1, Law("arithmetic", c => 3.5 - 0.25 * Math.Pow(Math.Log(c / 1e10), 1.6))),
            new FamilyPrediction("knowledge", 0.1, Law("knowledge", c => 4e4 * Math.Pow(c, -0.39))),
        ], 7.5e12);
        Assert.Equal([FitRegime.Flattening, FitRegime.Steepening, FitRegime.Steady], mixture.Families.Select(f => f.Law.Regime.Regime));
        Assert.Equal(["arithmetic", "knowledge"], mixture.FamiliesWithoutVisibleFloor);
    }
}
