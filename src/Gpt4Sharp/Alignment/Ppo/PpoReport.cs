using System.Globalization;
using Gpt4Sharp.Reporting;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// PPO's record for the report, through the shared Reporting builders: OUT/results.json
/// (settings, every step's metrics, the before/after rates) and OUT/report.html with one chart
/// per logged metric (also saved as OUT/charts/*.png) and the rates table.
/// </summary>
public static class PpoReport
{
    static readonly (string Name, string Label, Func<PpoStepMetrics, double> Value)[] Metrics =
    [
        ("objective/kl", "KL to the reference (nats per reply)", m => m.Kl),
        ("objective/reward", "summed reward per reply", m => m.Reward),
        ("policy/clipfrac", "share of tokens clipped", m => m.ClipFraction),
        ("policy/entropy", "entropy (nats per token)", m => m.Entropy),
        ("loss/value", "clipped value loss", m => m.ValueLoss),
    ];

    // The intent head's, the refusal decision's and the decline decision's numbers only in runs that train them, so other runs' results.json stay as they were.
    static Dictionary<string, object> WithAuxiliaryLosses(this Dictionary<string, object> step, PpoStepMetrics m)
    {
        if (m.IntentLoss is { } loss) step["loss/intent"] = loss;
        if (m.IntentAccuracy is { } accuracy) step["intent/accuracy"] = accuracy;
        if (m.RefusalLoss is { } refusal) step["loss/refusal"] = refusal;
        if (m.RefusalAccuracy is { } decided) step["refusal/accuracy"] = decided;
        if (m.DeclineLoss is { } decline) step["loss/decline"] = decline;
        if (m.DeclineAccuracy is { } declined) step["decline/accuracy"] = declined;
        return step;
    }

    public static string Describe(AlignmentRates r) =>
        $"harmful compliance {Rate(r.HarmfulCompliance, r.HarmfulPrompts)}, over-refusal {Rate(r.OverRefusal, r.BenignPrompts)}, closed-domain hallucination {Rate(r.ClosedDomainHallucination, r.PassagePrompts)}; " +
        $"red team: harmful compliance {Rate(r.RedTeamHarmfulCompliance, r.RedTeamHarmful)}, over-refusal {Rate(r.RedTeamOverRefusal, r.RedTeamBenign)}";

    /// <summary>A rate over a probe of <paramref name="prompts"/> prompts; a probe without prompts has none (its rate is NaN).</summary>
    static string Rate(double rate, int prompts) =>
        prompts == 0 ? "- of 0" : string.Create(CultureInfo.InvariantCulture, $"{rate:P1} of {prompts}");

    /// <summary>
    /// Writes results.json and report.html; returns the chart PNG paths. With checkpoint selection, <paramref name="dev"/> holds its
    /// measurements and <paramref name="selectedStep"/> the step the saved policy is from, and both go into the record and the report.
    /// </summary>
    public static IReadOnlyList<string> Write(string outDir, PpoSettings settings, IReadOnlyList<PpoStepMetrics> steps, AlignmentRates? before, AlignmentRates? after,
        IReadOnlyList<DevRates>? dev = null, int? selectedStep = null)
    {
        dev ??= [];
        Results.Write(outDir, new
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
            }.WithAuxiliaryLosses(m)).ToList(),
            before,
            after,
            dev,
            selected_step = selectedStep,
        });

        var report = new Report("PPO (RLHF)").Section("Settings").KeyValues(
            ("policy", settings.PolicyModel), ("reward models", string.Join(", ", settings.RewardModels)), ("steps", settings.Steps),
            ("rollouts per step", settings.PromptsPerStep * settings.SamplesPerPrompt), ("epochs", settings.Epochs),
            ("learning rate", settings.LearningRate), ("KL target", settings.KlTarget));
        if (before is not null)
        {
            static IReadOnlyList<object?> Row(string name, double b, double? a) => [name, b.ToString("P1", CultureInfo.InvariantCulture), a?.ToString("P1", CultureInfo.InvariantCulture) ?? "-"];
            report.Section("Held-out rates", "Greedy replies to eval-split curriculum prompts; the red-team rows wrap held-out requests as paraphrases, role play, two turns and Chinese, and the rule-based reward model classifies the replies.")
                .Table(["rate", "before PPO", "after PPO"],
            [
                Row($"harmful compliance ({before.HarmfulPrompts} prompts)", before.HarmfulCompliance, after?.HarmfulCompliance),
                Row($"over-refusal ({before.BenignPrompts} prompts)", before.OverRefusal, after?.OverRefusal),
                Row($"closed-domain hallucination ({before.PassagePrompts} prompts)", before.ClosedDomainHallucination, after?.ClosedDomainHallucination),
                Row($"red team: harmful compliance ({before.RedTeamHarmful} conversations)", before.RedTeamHarmfulCompliance, after?.RedTeamHarmfulCompliance),
                Row($"red team: over-refusal ({before.RedTeamBenign} conversations)", before.RedTeamOverRefusal, after?.RedTeamOverRefusal),
            ]);
        }
        var paths = new List<string>();
        if (steps.Count > 0)
        {
            report.Section("Training metrics");
            double[] xs = [.. steps.Select(m => (double)m.Step)];
            foreach (var (name, label, value) in Metrics)
            {
                var chart = new Chart(name, ChartKind.Line, "PPO step", label, [new ChartSeries(name, xs, [.. steps.Select(value)])]);
                report.Chart(chart);
                paths.Add(Path.Combine(outDir, "charts", chart.Title.Replace('/', '-') + ".png"));
            }
        }
        if (dev.Count > 0)
        {
            static string P(double rate) => double.IsFinite(rate) ? rate.ToString("P1", CultureInfo.InvariantCulture) : "-";
            report.Section("Checkpoint selection",
                $"Every {settings.SelectionEvery} steps and after the last, greedy replies to training-split safety requests in sentence frames no stage practises and to training-split knowledge questions " +
                $"(seed {settings.SelectionSeed}); the error is the sum of the four rates, and the saved policy and the after-PPO rates are from the step with the lowest" +
                (selectedStep is { } chosen ? $", step {chosen}." : " (the run stopped before choosing)."))
                .Table(["step", "harmful compliance", "over-refusal", "unknown-entity hallucination", "answerable declined", "error"],
                    [.. dev.Select(r => (IReadOnlyList<object?>)[r.Step == selectedStep ? $"{r.Step} (selected)" : r.Step.ToString(CultureInfo.InvariantCulture),
                        P(r.HarmfulCompliance), P(r.OverRefusal), P(r.UnknownEntityHallucination), P(r.AnswerableDeclined), r.Error.ToString("F3", CultureInfo.InvariantCulture)])]);
            var chart = new Chart("dev/error", ChartKind.Line, "PPO step", "dev error (sum of four rates)",
                [new ChartSeries("dev/error", [.. dev.Select(r => (double)r.Step)], [.. dev.Select(r => r.Error)])]);
            report.Chart(chart);
            paths.Add(Path.Combine(outDir, "charts", chart.Title.Replace('/', '-') + ".png"));
        }
        report.Save(outDir);
        return paths;
    }
}
