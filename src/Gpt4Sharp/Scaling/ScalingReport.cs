using Gpt4Sharp.Reporting;

namespace Gpt4Sharp.Scaling;

/// <summary>Writes a sweep's results.json and report.html (summary table and the two fit plots).</summary>
public static class ScalingReport
{
    /// <summary>Saves both files into <paramref name="directory"/>; returns the report's path.</summary>
    public static string Save(ScalingResult result, string directory)
    {
        Results.Write(directory, new
        {
            compute_definition = result.ComputeDefinition,
            code_metric_rule = result.CodeMetricRule,
            compute_ratio = result.ComputeRatio,
            seconds = result.Seconds,
            loss = Describe(result.Loss),
            code = Describe(result.Code),
            loss_backtest = result.LossBacktest is { } b ? Describe(b) : null,
            loss_by_frontier_span = result.LossBySpan.Select(Describe),
            loss_parametric = result.LossParametric is { } lp ? DescribeParametric(lp) : null,
            loss_parametric_backtest = result.ParametricBacktest is { } pb ? DescribeParametric(pb) : null,
            loss_mixture = result.LossMixture is { } mixture ? DescribeMixture(mixture) : null,
            headline_predictor = result.HeadlinePredictor,
            headline_loss_predicted = result.HeadlineLossPredicted,
            headline_loss_relative_error = result.HeadlineLossError,
            held_out_seeds = result.HeldOutRuns.Count,
            held_out_final_losses = result.HeldOutRuns.Select(p => p.FinalLoss),
            held_out_code_reference_nlls = result.HeldOutRuns.Select(p => p.FinalCodeNll),
            held_out_loss_sd = result.HeldOutLossStandardDeviation,
            runs = result.Points.Select(p => new
            {
                name = p.Plan.Name, width = p.Plan.Width, parameters = p.Plan.Parameters, tokens = p.TokensSeen, steps = p.Plan.Steps,
                compute_flops = p.Compute, held_out = p.Plan.HeldOut, final_validation_loss = p.FinalLoss,
                code_mean_log_pass_rate = p.Code.MeanLogPassRate, code_mean_pass_rate = p.Code.MeanPassRate, code_passed = p.Code.Passed,
                code_samples = p.Code.Problems * p.Code.SamplesPerProblem, code_reference_nll = p.FinalCodeNll, train_seconds = p.TrainSeconds,
                family_losses = p.FamilyLosses.Select(f => new { family = f.Family, validation_loss = f.Loss, token_share = f.Share }),
                curve = p.Curve.Select(c => new { step = c.Step, compute_flops = c.Compute, validation_loss = c.Loss, code_reference_nll = c.CodeNll }),
            }),
        });

        var report = new Report("Scaling sweep: predicting the held-out run")
            .Section("Predictions", $"Laws y = a·C^(−b) + c fitted on the compute-efficient frontier (the minimum of each compute budget's IsoFLOP profile) of the {result.Points.Count(p => !p.Plan.HeldOut)} smaller runs' final values, evaluated at the held-out run's compute ({result.ComputeRatio:F1}x the largest fitted) before it trained{(result.HeldOutRuns.Count > 1 ? $"; the actual values are the means over its {result.HeldOutRuns.Count} seeds" : "")}. The backtest row applies the same method inside the fitted runs alone.")
            .Table(["metric", "fit", "rmse on fit", "predicted", "actual", "relative error"],
                new[] { result.Loss, result.Code }.Concat(result.LossBacktest is { } back ? [back with { Metric = $"backtest: {back.Metric} at the fitted compute" }] : [])
                    .Concat(result.LossBySpan.Select(p => p with { Metric = $"sensitivity: {p.Metric}" })).Select(p => (IReadOnlyList<object?>)[p.Metric, p.Fit.Law.ToString(), p.Fit.RootMeanSquareError, p.Predicted, p.Actual, p.RelativeError])
                    .Concat(new[] { ($"{ScalingSweep.ParametricPredictor}: {ScalingSweep.LossMetric}", result.LossParametric), ($"backtest: {ScalingSweep.ParametricPredictor}", result.ParametricBacktest) }
                        .Where(r => r.Item2 is not null).Select(r => (IReadOnlyList<object?>)[r.Item1, r.Item2!.Fit.Law.ToString(), r.Item2.Fit.RootMeanSquareError, r.Item2.Predicted, r.Item2.Actual, r.Item2.RelativeError])))
            .Paragraph($"Headline loss predictor, fixed before the held-out run trained: {result.HeadlinePredictor} (predicted {result.HeadlineLossPredicted:F4}, error {result.HeadlineLossError:P2}).")
            .Paragraph(HeldOutSeedsLine(result));
        if (result.LossMixture is { } m)
            report.Section("Mixture of per-family laws", $"The validation loss split by the curriculum family of each token's document; per family, L_f(C) = a_f·C^(−b_f) + c_f fitted on that family's loss at the total loss's IsoFLOP frontier sizes (same budgets), and the total predicted as Σ share_f·L_f(C) = {m.Predicted:F4} (actual {m.Actual:F4}, error {m.RelativeError:P2}). The headline predictor unless the sweep asked for the frontier law; the last column is the family's part of the total's signed relative error. The fit window column says how each family falls across the fitted budgets: a law a·C^(−b) + c can only flatten, so a family whose fall still steepens there is being learnt, and one whose fall is steady shows no floor: either way its prediction is a guess.")
                .Table(["family", "token share", "fit", "rmse on fit", "fit window", "predicted", "actual", "relative error", "share of the total's error"],
                    m.Families.Select(f => (IReadOnlyList<object?>)[f.Family, f.Share, f.Law.Fit.Law.ToString(), f.Law.Fit.RootMeanSquareError, f.Law.Regime.Describe(), f.Law.Predicted, f.Law.Actual, f.Law.RelativeError, m.Actual is { } total ? f.ContributionTo(total) : null]));
        report
            .KeyValues(("compute", result.ComputeDefinition), ("code metric", result.CodeMetricRule), ("sweep time", $"{result.Seconds:F0} s"))
            .Section("Runs")
            .Table(["run", "parameters", "tokens", "compute (FLOPs)", "final val loss", "reference NLL", "−mean log pass rate", "pass rate", "held out"],
                result.Points.Select(p => (IReadOnlyList<object?>)[p.Plan.Name, p.Plan.Parameters, p.TokensSeen, p.Compute, p.FinalLoss, p.FinalCodeNll, p.Code.MeanLogPassRate, p.Code.MeanPassRate, p.Plan.HeldOut ? "yes" : "no"]))
            .Section("Fits")
            .Chart(FitChart("Validation loss vs compute", "validation loss (nats/token)", result, result.Loss, p => p.FinalLoss))
            .Chart(FitChart("Code metric vs compute", "−log P(reference solution) (nats)", result, result.Code, p => p.FinalCodeNll))
            .Chart(LearningCurves(result));
        foreach (var f in result.LossMixture?.Families ?? [])
            report.Chart(FitChart($"Validation loss on {f.Family} tokens vs compute", "validation loss (nats/token)", result, f.Law, p => p.FamilyLossOf(f.Family)));
        return report.Save(directory);
    }

    /// <summary>The held-out run's final loss per seed and their spread, or that it trained once.</summary>
    public static string HeldOutSeedsLine(ScalingResult result) => result.HeldOutRuns is { Count: > 1 } runs
        ? $"Held-out run, {runs.Count} seeds: final losses {string.Join(", ", runs.Select(p => p.FinalLoss.ToString("F4")))} (mean {result.Loss.Actual:F4}, sd {result.HeldOutLossStandardDeviation:F4} = {result.HeldOutLossStandardDeviation / result.Loss.Actual:P1} of the mean, range {runs.Max(p => p.FinalLoss) - runs.Min(p => p.FinalLoss):F4}); reference NLLs {string.Join(", ", runs.Select(p => p.FinalCodeNll.ToString("F3")))}."
        : "Held-out run trained with one seed, so its own seed scatter (0.1–1.2 % from a three-seed mean on six corpus seeds) is part of the measured error.";

    static object DescribeMixture(MixturePrediction m) => new
    {
        predictor = ScalingSweep.MixturePredictor, compute_flops = m.Compute, predicted = m.Predicted, actual = m.Actual, relative_error = m.RelativeError,
        families = m.Families.Select(f => new
        {
            family = f.Family, token_share = f.Share, a = f.Law.Fit.Law.A, b = f.Law.Fit.Law.B, c = f.Law.Fit.Law.C, fit_rmse = f.Law.Fit.RootMeanSquareError,
            fit_window_slopes = f.Law.Regime.Slopes, fit_window_regime = f.Law.Regime.Regime,
            frontier = f.Law.Frontier.Select(p => new { compute_flops = p.Compute, validation_loss = p.Value, run = p.Run }),
            predicted = f.Law.Predicted, actual = f.Law.Actual, relative_error = f.Law.RelativeError, contribution_to_total_error = m.Actual is { } total ? f.ContributionTo(total) : null,
        }),
    };

    static object DescribeParametric(ParametricPrediction p) => new
    {
        metric = p.Metric, e = p.Fit.Law.E, a = p.Fit.Law.A, alpha = p.Fit.Law.Alpha, b = p.Fit.Law.B, beta = p.Fit.Law.Beta, fit_rmse = p.Fit.RootMeanSquareError,
        fit_points = p.Fit.Points, parameters = p.Parameters, tokens = p.Tokens, predicted = p.Predicted, actual = p.Actual, relative_error = p.RelativeError,
    };

    static object Describe(Prediction p) => new
    {
        metric = p.Metric, a = p.Fit.Law.A, b = p.Fit.Law.B, c = p.Fit.Law.C, fit_rmse = p.Fit.RootMeanSquareError,
        fit_window_slopes = p.Regime.Slopes, fit_window_regime = p.Regime.Regime, compute_flops = p.Compute, predicted = p.Predicted, actual = p.Actual, relative_error = p.RelativeError,
    };

    /// <summary>
    /// The frontier points the law was fitted on, the law drawn from there to the held-out run, each
    /// run's final value (<paramref name="value"/>), and predicted vs actual there (log compute axis).
    /// </summary>
    public static Chart FitChart(string title, string yLabel, ScalingResult result, Prediction prediction, Func<SweepPoint, double> value)
    {
        var finals = result.Points.Where(p => !p.Plan.HeldOut).ToList();
        double lo = Math.Log(prediction.Frontier.Count > 0 ? prediction.Frontier.Min(f => f.Compute) : finals.Min(p => p.Compute)), hi = Math.Log(prediction.Compute);
        var curveX = Enumerable.Range(0, 60).Select(i => Math.Exp(lo + (hi - lo) * i / 59)).ToArray();
        // Drawn in this order, so the minima sit on the runs and the prediction and outcome on top.
        var series = new List<ChartSeries>
        {
            new("fitted runs", finals.Select(p => p.Compute).ToArray(), finals.Select(value).ToArray(), ChartKind.Scatter),
            new($"fit {prediction.Fit.Law}", curveX, curveX.Select(prediction.Fit.Law.At).ToArray(), ChartKind.Curve),
            new("IsoFLOP minima (fitted)", prediction.Frontier.Select(f => f.Compute).ToArray(), prediction.Frontier.Select(f => f.Value).ToArray(), ChartKind.Scatter),
        };
        if (result.HeldOutRuns is { Count: > 1 } seeds)
            series.Add(new("held-out seeds", [.. seeds.Select(p => p.Compute)], [.. seeds.Select(value)], ChartKind.Scatter));
        series.Add(new("predicted", [prediction.Compute], [prediction.Predicted], ChartKind.Scatter, Emphasised: true));
        if (prediction.Actual is { } actual) series.Add(new(result.HeldOutRuns.Count > 1 ? "actual (seed mean)" : "actual", [prediction.Compute], [actual], ChartKind.Scatter, Emphasised: true));
        // The values fall to the right, so the upper right corner is empty.
        return new Chart(title, ChartKind.Scatter, "compute (FLOPs)", yLabel, series) { LogX = true, LegendCorner = ScottPlot.Alignment.UpperRight };
    }

    /// <summary>Every run's validation-loss curve against compute; each decays its learning rate over its own length, so only its end is a frontier candidate.</summary>
    public static Chart LearningCurves(ScalingResult result) =>
        new("Learning curves (validation loss)", ChartKind.Line, "compute (FLOPs)", "validation loss (nats/token)",
            result.Points.Select(p => new ChartSeries(p.Plan.Name, p.Curve.Select(c => c.Compute).ToArray(), p.Curve.Select(c => c.Loss).ToArray(), ChartKind.Line)).ToList())
        { LogX = true };
}
