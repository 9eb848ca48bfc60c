using System.Text.Json.Nodes;

namespace Gpt4Sharp.Reporting;

/// <summary>One numeric metric in two runs; null where a run lacks it.</summary>
public sealed record MetricDelta(string Metric, double? Run1, double? Run2)
{
    public double? Delta => Run1 is { } a && Run2 is { } b ? b - a : null;
}

/// <summary>Side-by-side comparison of two runs' results.json: every numeric metric, its values and the change.</summary>
public static class RunComparison
{
    public static IReadOnlyList<MetricDelta> Compare(JsonNode run1, JsonNode run2)
    {
        var a = Results.FlattenNumbers(run1);
        var b = Results.FlattenNumbers(run2);
        return a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Select(k => new MetricDelta(k, a.TryGetValue(k, out var x) ? x : null, b.TryGetValue(k, out var y) ? y : null))
            .ToList();
    }

    /// <summary>The comparison as a report: the full table, plus a bar chart of the metrics that changed most.</summary>
    public static Report BuildReport(string name1, string name2, IReadOnlyList<MetricDelta> deltas, int chartedMetrics = 12)
    {
        var report = new Report($"Compare {name1} vs {name2}")
            .Section("Runs").KeyValues(("run 1", name1), ("run 2", name2),
                ("metrics", deltas.Count), ("changed", deltas.Count(d => d.Delta is { } x && x != 0)),
                ("only in one run", deltas.Count(d => d.Delta is null)))
            .Section("Metrics")
            .Table(["metric", "run 1", "run 2", "delta"], deltas.Select(d => (IReadOnlyList<object?>)[d.Metric, d.Run1, d.Run2, d.Delta]));
        // Metrics differ in scale (counts, seconds, rates), so the chart shows relative change.
        var changed = deltas.Where(d => d.Delta is { } x && x != 0 && d.Run1 is not 0.0)
            .OrderByDescending(d => Math.Abs(d.Delta!.Value / d.Run1!.Value)).Take(chartedMetrics)
            .OrderBy(d => d.Metric, StringComparer.Ordinal).ToList();
        if (changed.Count > 0)
            report.Section("Largest relative changes").Chart(Chart.Bars($"Change from {name1} to {name2}", "change (%)",
                changed.Select(d => d.Metric).ToArray(), changed.Select(d => 100 * d.Delta!.Value / Math.Abs(d.Run1!.Value)).ToArray()), width: 900, height: 520);
        return report;
    }
}
