using Gpt4Sharp.Scaling;

namespace Gpt4Sharp.Tests.Scaling;

/// <summary>Per-family validation losses and the mixture predictor built on them, on hand-made data.</summary>
public class MixturePredictorTests
{
    const int Eot = 0;

    /// <summary>Three documents: "a" (ids 5, 6), "b" (id 7), "a" again (ids 8, 9, 10), each closed by end-of-text.</summary>
    static readonly int[] Stream = [5, 6, Eot, 7, Eot, 8, 9, 10, Eot];

    static string FamilyOf(int[] ids) => ids[0] == 7 ? "b" : "a";

    [Fact]
    public void EveryTargetTokenBelongsToTheDocumentItIsPartOf()
    {
        // Target i is stream token i + 1: 6, eot (document 1), 7, eot (document 2), 8, 9 (document 3).
        var labels = EvalFamilies.FromTokens(Stream, Eot, 6, FamilyOf);
        Assert.Equal(["a", "b"], labels.Names);
        Assert.Equal([0, 0, 1, 1, 0, 0], Enumerable.Range(0, labels.Count).Select(labels.LabelOf));

        // Per family: mean of its tokens' losses and its share of the tokens.
        var families = labels.Attribute([1f, 3f, 10f, 20f, 5f, 7f]);
        Assert.Equal([new FamilyLoss("a", 4, 4.0 / 6), new FamilyLoss("b", 15, 2.0 / 6)], families);
        // The share-weighted family losses are the mean over all tokens, which the total loss is.
        Assert.Equal(46.0 / 6, families.Sum(f => f.Share * f.Loss), 1e-12);

        // The families of documents are read only as far as needed: two targets see document 1 alone.
        Assert.Equal(["a"], EvalFamilies.FromTokens(Stream, Eot, 2, FamilyOf).Names);
        Assert.Throws<ArgumentException>(() => labels.Attribute([1f, 2f]));
        // A stream cut inside the document of the last target cannot be labelled.
        Assert.Throws<ArgumentException>(() => EvalFamilies.FromTokens([5, 6, 7], Eot, 2, FamilyOf));
    }

    /// <summary>IsoFLOP profiles of two components and their 3:1 mixture, over four sizes at each of three budgets.</summary>
    static List<(IsoFlopRun Total, double A, double B)> Profiles()
    {
        var runs = new List<(IsoFlopRun, double, double)>();
        foreach (var (budget, k) in new[] { 1e10, 3e10, 9e10 }.Select((b, k) => (b, k)))
            foreach (var n in new[] { 1e4, 2e4, 4e4, 8e4 })
            {
                double x = Math.Log(n / (2e4 * (k + 1))), a = 2 - 0.2 * k + 0.3 * x * x + 0.05 * x, b = 1 - 0.1 * k + 0.1 * x * x - 0.2 * x;
                runs.Add((new IsoFlopRun($"r{k}-{n}", budget, n, 0.75 * a + 0.25 * b), a, b));
            }
        return runs;
    }

    [Fact]
    public void ComponentFrontiersLieAtTheTotalsFrontierSizesAndSumToIt()
    {
        var runs = Profiles();
        var total = runs.Select(r => r.Total).ToList();
        var a = IsoFlopFrontier.BuildAt(total, runs.ToDictionary(r => r.Total.Run, r => r.A));
        var b = IsoFlopFrontier.BuildAt(total, runs.ToDictionary(r => r.Total.Run, r => r.B));
        var frontier = IsoFlopFrontier.Build(total);
        for (int k = 0; k < frontier.Count; k++)
        {
            Assert.Equal(frontier[k].Value, 0.75 * a[k].Value + 0.25 * b[k].Value, 1e-12);
            Assert.Equal(frontier[k].Compute, a[k].Compute);
        }
        // Each component's own minimum lies elsewhere, so at the total's size it is higher than that minimum.
        var ownA = IsoFlopFrontier.Build([.. runs.Select(r => r.Total with { Value = r.A })]);
        Assert.All(a.Zip(ownA), p => Assert.True(p.First.Value >= p.Second.Value - 1e-12));

        // Where the total's profile has no bracketed minimum the component is the best run's.
        var flat = new List<IsoFlopRun> { new("x", 1, 10, 2), new("y", 1, 20, 1) };
        Assert.Equal(7.0, IsoFlopFrontier.BuildAt(flat, new Dictionary<string, double> { ["x"] = 3, ["y"] = 7 })[0].Value);
    }

    /// <summary>Seven budgets (doubling) of three sizes whose total loss is the 0.8 : 0.2 mixture of two families, each a law in compute with its own floor.</summary>
    static List<SweepPoint> Fitted(bool withFamilies = true)
    {
        var code = new PowerLaw(300, 0.3, 0.3);
        var facts = new PowerLaw(40, 0.15, 0.05);
        return [.. Enumerable.Range(0, 7).SelectMany(k =>
        {
            double budget = 1e10 * Math.Pow(2, k);
            return new[] { 0.5, 1.0, 2.0 }.Select(f =>
            {
                double n = 1e4 * Math.Sqrt(budget / 1e10) * f, penalty = 1 + 0.02 * Math.Pow(Math.Log(f), 2);
                double c = code.At(budget) * penalty, q = facts.At(budget) * penalty;
                var plan = new SweepRunPlan($"fit-{k}-{f}", 8, (long)n, (long)(budget / (6 * n)), 10 * k + (int)(4 * f), budget, false);
                return new SweepPoint(plan, plan.Tokens, budget, 0.8 * c + 0.2 * q, CodePassRate.Score([0], 1), 1)
                {
                    FinalCodeNll = 1, FamilyLosses = withFamilies ? [new("code", c, 0.8), new("knowledge", q, 0.2)] : [],
                };
            });
        })];
    }

    static readonly ScalingSettings Settings = new() { FrontierSpan = 9 };

    [Fact]
    public void TheMixturePredictionIsTheShareWeightedSumOfTheFamiliesLaws()
    {
        var fitted = Fitted();
        var target = new SweepRunPlan("target", 16, 1_000_000, 1_000_000, 1000, 30 * 64e10, true);
        var p = ScalingSweep.Predict(Settings, fitted, target);
        var mixture = p.Mixture!;

        Assert.Equal(["code", "knowledge"], mixture.Families.Select(f => f.Family));
        Assert.Equal(mixture.Families.Sum(f => f.Share * f.Law.Fit.Law.At(target.Compute)), mixture.Predicted, 1e-12);
        // Each family follows its own law exactly, so its law and the mixture recover the held-out values.
        Assert.Equal(new PowerLaw(300, 0.3, 0.3).At(target.Compute), mixture.Families[0].Law.Predicted, 1e-6);
        Assert.Equal(new PowerLaw(40, 0.15, 0.05).At(target.Compute), mixture.Families[1].Law.Predicted, 1e-6);
        // At the fitted budgets the families' frontiers add up to the frontier law's points.
        for (int k = 0; k < p.Loss.Frontier.Count; k++)
            Assert.Equal(p.Loss.Frontier[k].Value, mixture.Families.Sum(f => f.Share * f.Law.Frontier[k].Value), 1e-12);

        // The mixture is the headline unless the frontier law is asked for.
        Assert.Equal(ScalingSweep.MixturePredictor, p.Headline);
        Assert.Equal(mixture.Predicted, p.HeadlinePredicted);
        var frontierHeadline = ScalingSweep.Predict(Settings with { FrontierHeadline = true }, fitted, target);
        Assert.Equal(ScalingSweep.FrontierPredictor, frontierHeadline.Headline);
        Assert.Equal(p.Loss.Predicted, frontierHeadline.HeadlinePredicted);

        // The contribution of each family to the total's error is its share of the signed miss.
        var family = mixture.Families[1] with { Law = mixture.Families[1].Law with { Actual = mixture.Families[1].Law.Predicted - 0.1 } };
        Assert.Equal(0.2 * 0.1 / 0.5, family.ContributionTo(0.5)!.Value, 1e-12);
    }

    [Fact]
    public void RunsSavedWithoutFamilyLossesLeaveTheOtherPredictorsUnchanged()
    {
        var target = new SweepRunPlan("target", 16, 1_000_000, 1_000_000, 1000, 30 * 64e10, true);
        var with = ScalingSweep.Predict(Settings, Fitted(), target);
        var without = ScalingSweep.Predict(Settings, Fitted(withFamilies: false), target);
        Assert.Null(without.Mixture);
        Assert.Equal(with.Loss with { Frontier = [] }, without.Loss with { Frontier = [] });
        // One run without them is enough to withhold the mixture.
        var mixed = Fitted();
        mixed[0] = mixed[0] with { FamilyLosses = [] };
        Assert.Null(ScalingSweep.Predict(Settings, mixed, target).Mixture);
    }
}
