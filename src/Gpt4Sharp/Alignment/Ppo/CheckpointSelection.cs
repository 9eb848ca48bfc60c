using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// The policy measured on dev prompts after a PPO step (<see cref="CheckpointSelection"/>), with greedy replies under PPO's system
/// prompt; a rate over no prompts is NaN.
/// </summary>
public sealed record DevRates(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("harmful_compliance")] double HarmfulCompliance,
    [property: JsonPropertyName("harmful_prompts")] int HarmfulPrompts,
    [property: JsonPropertyName("over_refusal")] double OverRefusal,
    [property: JsonPropertyName("benign_prompts")] int BenignPrompts,
    [property: JsonPropertyName("unknown_entity_hallucination")] double UnknownEntityHallucination,
    [property: JsonPropertyName("answerable_declined")] double AnswerableDeclined,
    [property: JsonPropertyName("questions")] int Questions)
{
    /// <summary>
    /// What the selection minimises: the sum of the four error rates, each the share of its prompts gone wrong, so a harmful
    /// request answered, a look-alike refused, an unknown entity made up and an answerable question declined weigh the same
    /// share. A rate over no prompts (a tiny dev set can draw no harmful request) adds nothing.
    /// </summary>
    [JsonPropertyName("error")]
    public double Error => new[] { HarmfulCompliance, OverRefusal, UnknownEntityHallucination, AnswerableDeclined }.Where(double.IsFinite).Sum();
}

/// <summary>
/// Checkpoint selection on dev prompts (<see cref="PpoSettings.SelectionEvery"/>), the validation-set model selection of supervised
/// training (Hugging Face Trainer's load_best_model_at_end) applied to PPO: every N steps and after the last one, the saved policy
/// (the live weights, or their moving average) answers dev prompts, and the run ends with the weights of the step with the lowest
/// <see cref="DevRates.Error"/> (the earliest of equals). PPO's last step is otherwise a draw: from one fine-tuned model, two seeds
/// ended 0 and 10 held-out harmful requests answered (rounds 51–52 of docs/alignment-rounds.md).
/// The dev prompts hold out nothing the probe measures and nothing PPO practises:
/// - safety: training-split topic × intent requests re-asked in the dev and shape-dev sentence frames
///   (<see cref="PracticeFraming.DevFrames"/>, <see cref="PracticeFraming.ShapeDevFrames"/>), which no stage trains on;
/// - knowledge: training-split unknown-entity and answerable questions drawn with <see cref="PpoSettings.SelectionSeed"/>, not the
///   training seed whose stream makes the practice pool.
/// </summary>
public sealed class CheckpointSelection(GptModel selected, PpoSettings settings)
{
    /// <summary>Where the selected weights and the dev history are kept for --resume, inside the run's PPO state.</summary>
    public const string StateDirectory = "selected";

    /// <summary>The frames the dev safety requests are asked in: two question frames and two of the held-out frames' shapes.</summary>
    public static IReadOnlyList<string> DevSafetyFrames { get; } = [.. PracticeFraming.DevFrames, .. PracticeFraming.ShapeDevFrames];

    /// <summary>The best weights measured so far (the fine-tuned ones before the first measurement); its owner disposes it.</summary>
    public GptModel Model { get; } = selected;

    /// <summary>Every dev measurement so far, in step order.</summary>
    public List<DevRates> History { get; } = [];

    /// <summary>The step whose weights <see cref="Model"/> holds; null before the first measurement.</summary>
    public int? SelectedStep { get; private set; }

    /// <summary>Whether the policy is measured after <paramref name="step"/>: every <see cref="PpoSettings.SelectionEvery"/> steps and after the last.</summary>
    public bool IsDue(int step) => step % settings.SelectionEvery == 0 || step == settings.Steps;

    /// <summary>The dev rates of <paramref name="model"/> after <paramref name="step"/>.</summary>
    public static DevRates Measure(GptModel model, ITokenizer tokenizer, PpoSettings settings, int step, CancellationToken cancel = default)
    {
        var safety = AlignmentProbe.MeasureReframed(model, tokenizer, settings.SelectionSeed, settings.SelectionRequests, DevSafetyFrames,
            settings.MaxNewTokens, settings.SystemPrompt, cancel);
        var respond = AlignmentProbe.Responder(model, tokenizer, settings.MaxNewTokens, settings.SystemPrompt, cancel);
        var unknown = HallucinationRate.Measure(respond, settings.SelectionQuestions, settings.SelectionSeed, cancel: cancel, split: Split.Train);
        var answerable = HallucinationRate.MeasureAnswerable(respond, settings.SelectionQuestions, settings.SelectionSeed, cancel: cancel, split: Split.Train);
        return new DevRates(step, safety.HarmfulCompliance, safety.Harmful, safety.OverRefusal, safety.Benign, unknown.Rate, answerable.DeclineRate, settings.SelectionQuestions);
    }

    /// <summary>Adds a measurement of <paramref name="policy"/>; copies its weights when they score below every earlier step's. True when they do.</summary>
    public bool Record(DevRates rates, GptModel policy)
    {
        History.Add(rates);
        if (SelectedStep is { } step && rates.Error >= History.Single(r => r.Step == step).Error) return false;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var (s, p) in Model.parameters().Zip(policy.parameters())) s.copy_(p);
        SelectedStep = rates.Step;
        return true;
    }

    /// <summary>Saves the selected weights and the dev history after <paramref name="state"/>'s step.</summary>
    public void Save(string stateDirectory, JsonObject config, TrainerState state, RunInfo run)
    {
        var saved = new TrainerState
        {
            Step = state.Step, Seed = state.Seed,
            Extra = new JsonObject { ["selected_step"] = SelectedStep, ["dev"] = JsonSerializer.SerializeToNode(History, RunInfo.Json) },
        };
        new CheckpointStore(Path.Combine(stateDirectory, StateDirectory), keepLast: 1).Save(Model, config, null, saved, run);
    }

    /// <summary>
    /// Loads the selection saved with the PPO state in <paramref name="stateDirectory"/> after <paramref name="step"/> steps; a resumed
    /// run without one, or with one of another step (a stop between the two saves), is an error.
    /// </summary>
    public void Restore(string stateDirectory, int step, Action<string>? warn = null)
    {
        var loaded = new CheckpointStore(Path.Combine(stateDirectory, StateDirectory), keepLast: 1).LoadLatest(Model, null, warn);
        if (loaded?.Step != step || loaded.State.Extra?["dev"] is not { } dev)
            throw new UserError($"{stateDirectory} holds no checkpoint selection of step {step} to resume with; start a new run in another --out directory.");
        History.Clear();
        History.AddRange(dev.Deserialize<List<DevRates>>(RunInfo.Json) ?? []);
        SelectedStep = loaded.State.Extra["selected_step"]?.GetValue<int>();
    }

    /// <summary>One line for the run log.</summary>
    public static string Describe(DevRates r) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"dev after step {r.Step}: harmful compliance {r.HarmfulCompliance:P1} of {r.HarmfulPrompts}, over-refusal {r.OverRefusal:P1} of {r.BenignPrompts}, " +
        $"unknown-entity hallucination {r.UnknownEntityHallucination:P1} and answerable declined {r.AnswerableDeclined:P1} of {r.Questions} each; error {r.Error:F3}");
}
