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
        var shared = deltas.Where(d => d.Delta is not null).OrderByDescending(d => Math.Abs(d.Delta!.Value)).Take(chartedMetrics)
            .OrderBy(d => d.Metric, StringComparer.Ordinal).ToList();
        if (shared.Count > 0)
        {
            var xs = Enumerable.Range(0, shared.Count).Select(i => (double)i).ToArray();
            report.Section("Largest changes").Chart(new Chart("Metrics in both runs", ChartKind.Bar, "", "value",
                [new ChartSeries(name1, xs.Select(x => x - 0.2).ToArray(), shared.Select(d => d.Run1!.Value).ToArray()),
                 new ChartSeries(name2, xs.Select(x => x + 0.2).ToArray(), shared.Select(d => d.Run2!.Value).ToArray())])
            { XTickLabels = shared.Select(d => d.Metric).ToArray() }, width: 900);
        }
        return report;
    }
}
