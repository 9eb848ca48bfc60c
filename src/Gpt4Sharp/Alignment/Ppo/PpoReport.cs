using System.Globalization;
using System.Text.Json;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// PPO's record for the report: OUT/results.json (settings, every step's metrics, the
/// before/after rates) and one ScottPlot PNG per logged metric under OUT/plots/.
/// </summary>
public static class PpoReport
{
    public const string ResultsFile = "results.json";

    static readonly (string Name, string File, Func<PpoStepMetrics, double> Value)[] Metrics =
    [
        ("objective/kl", "objective_kl.png", m => m.Kl),
        ("objective/reward", "objective_reward.png", m => m.Reward),
        ("policy/clipfrac", "policy_clipfrac.png", m => m.ClipFraction),
        ("policy/entropy", "policy_entropy.png", m => m.Entropy),
        ("loss/value", "loss_value.png", m => m.ValueLoss),
    ];

    public static string Describe(AlignmentRates r) => string.Create(CultureInfo.InvariantCulture,
        $"harmful compliance {r.HarmfulCompliance:P1} of {r.HarmfulPrompts}, over-refusal {r.OverRefusal:P1} of {r.BenignPrompts}, closed-domain hallucination {r.ClosedDomainHallucination:P1} of {r.PassagePrompts}");

    /// <summary>Writes results.json and the plots; returns the plot paths.</summary>
    public static IReadOnlyList<string> Write(string outDir, PpoSettings settings, IReadOnlyList<PpoStepMetrics> steps, AlignmentRates? before, AlignmentRates? after)
    {
        var results = new
        {
            stage = "ppo",
            settings,
            steps = steps.Select(m => new Dictionary<string, object>
            {
                ["step"] = m.Step,
                ["objective/kl"] = m.Kl,
                ["objective/reward"] = m.Reward,
                ["objective/kl_coef"] = m.KlCoefficient,
                ["policy/clipfrac"] = m.ClipFraction,
                ["policy/entropy"] = m.Entropy,
                ["loss/value"] = m.ValueLoss,
                ["loss/policy"] = m.PolicyLoss,
                ["response/length"] = m.ResponseLength,
                ["rewards"] = m.ScorerMeans,
                ["seconds"] = m.Seconds,
            }).ToList(),
            before,
            after,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, ResultsFile), JsonSerializer.Serialize(results, RunInfo.Json));
        if (steps.Count == 0) return [];

        var plotDir = Path.Combine(outDir, "plots");
        Directory.CreateDirectory(plotDir);
        double[] xs = steps.Select(m => (double)m.Step).ToArray();
        var paths = new List<string>();
        foreach (var (name, file, value) in Metrics)
        {
            var plot = new ScottPlot.Plot();
            plot.Add.Scatter(xs, steps.Select(value).ToArray());
            plot.Title($"PPO {name}");
            plot.XLabel("step");
            plot.YLabel(name);
            var path = Path.Combine(plotDir, file);
            plot.SavePng(path, 640, 400);
            paths.Add(path);
        }
        return paths;
    }
}
