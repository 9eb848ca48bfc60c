using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;

namespace Gpt4Sharp.Pipeline;

/// <summary>Where a pipeline run reports: steps starting and finishing, plus the training and item progress of the step running.</summary>
public interface IPipelineObserver : IReasoningObserver
{
    void StepStarting(PipelineStep step, bool resuming);
    void StepFinished(PipelineStep step, StepRecord record, bool skipped);
}

/// <summary>One step of the pipeline: its directory name under DIR (NN-name), the recipe stage it belongs to, and what it does.</summary>
public sealed record PipelineStep(string Name, int Stage, string Title, Func<StepContext, JsonObject> Run)
{
    /// <summary>The file whose presence marks the step complete; written last, atomically.</summary>
    public const string RecordFile = "step.json";
}

/// <summary>What a finished step recorded: its metrics (what the report and later steps read) and the wall time of the attempt that finished it.</summary>
public sealed record StepRecord(string Name, int Stage, string Title, double Seconds, JsonObject Metrics);

/// <summary>What a step's code gets: the settings in force, its own directory, the other steps' directories and the observer.</summary>
public sealed class StepContext(PipelineSettings settings, string runDirectory, PipelineStep step, bool resuming,
    IPipelineObserver observer, IReadOnlyDictionary<string, StepRecord> finished, CancellationToken cancel)
{
    public PipelineSettings Settings => settings;
    public string RunDirectory => runDirectory;
    public string Directory => Path.Combine(runDirectory, step.Name);
    /// <summary>True when an earlier attempt at this step was interrupted and left its files behind.</summary>
    public bool Resuming => resuming;
    public IPipelineObserver Observer => observer;
    public CancellationToken Cancel => cancel;

    /// <summary>The directory of another step (e.g. "02-pretrain"), which must have finished.</summary>
    public string StepDirectory(string name) =>
        finished.ContainsKey(name) ? Path.Combine(runDirectory, name) : throw new InvalidOperationException($"step {name} has not finished");

    public JsonObject Metrics(string name) => finished[name].Metrics;
}

public sealed record PipelineResult(string RunDirectory, IReadOnlyList<StepRecord> Steps, bool Completed, string? ReportPath, double Seconds);

/// <summary>
/// The whole recipe as one resumable run. Steps run in order; each writes its outputs under
/// DIR/NN-name/ and, last of all, DIR/NN-name/step.json. A rerun skips every step with a
/// step.json, and a step that was interrupted continues: the training steps (pretraining,
/// SFT, reward model, PPO) from their newest checkpoint with the settings saved beside it,
/// the others from the start after their partial files are removed. Every step is seeded, so a
/// run stopped and resumed ends with the same results as one that was not.
/// </summary>
public static class PipelineRunner
{
    public const string SettingsFile = "pipeline.json";

    public static IReadOnlyList<PipelineStep> Steps => PipelineSteps.All;

    public static PipelineResult Run(PipelineSettings settings, string outDirectory, IPipelineObserver observer, CancellationToken cancel = default)
    {
        TorchRuntime.EnsureLoaded();
        var runDir = Path.GetFullPath(outDirectory);
        settings = ResolveSettings(settings.Validate(), runDir, observer);
        RunInfo.Capture("pipeline", settings.Pretrain.Train.Seed, settings).Write(runDir);

        var clock = Stopwatch.StartNew();
        var finished = new Dictionary<string, StepRecord>();
        foreach (var step in Steps)
        {
            var stepDir = Path.Combine(runDir, step.Name);
            if (ReadRecord(stepDir) is { } done)
            {
                finished[step.Name] = done;
                observer.StepFinished(step, done, skipped: true);
                continue;
            }
            if (cancel.IsCancellationRequested) return Stopped(runDir, finished, clock);
            bool resuming = System.IO.Directory.Exists(stepDir);
            observer.StepStarting(step, resuming);
            var stepClock = Stopwatch.StartNew();
            JsonObject metrics;
            try
            {
                metrics = step.Run(new StepContext(settings, runDir, step, resuming, observer, finished, cancel));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return Stopped(runDir, finished, clock);
            }
            var record = new StepRecord(step.Name, step.Stage, step.Title, stepClock.Elapsed.TotalSeconds, metrics);
            AtomicFile.WriteAllText(Path.Combine(stepDir, PipelineStep.RecordFile), JsonSerializer.Serialize(record, Results.Json));
            record = ReadRecord(stepDir)!; // as a rerun will see it, so a fresh and a resumed run report from the same JSON
            finished[step.Name] = record;
            observer.StepFinished(step, record, skipped: false);
        }

        var steps = Steps.Select(s => finished[s.Name]).ToList();
        var report = PipelineReport.Write(runDir, settings, steps);
        return new PipelineResult(runDir, steps, true, report, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The finished steps of a run directory, in order (for a report of a run in progress or a comparison).</summary>
    public static IReadOnlyList<StepRecord> Finished(string runDirectory) =>
        Steps.Select(s => ReadRecord(Path.Combine(runDirectory, s.Name))).OfType<StepRecord>().ToList();

    static PipelineResult Stopped(string runDir, Dictionary<string, StepRecord> finished, Stopwatch clock) =>
        new(runDir, Steps.Where(s => finished.ContainsKey(s.Name)).Select(s => finished[s.Name]).ToList(), false, null, clock.Elapsed.TotalSeconds);

    /// <summary>A new run saves its settings; a run directory that has them continues with those, whatever preset was asked for.</summary>
    static PipelineSettings ResolveSettings(PipelineSettings settings, string runDir, IPipelineObserver observer)
    {
        var path = Path.Combine(runDir, SettingsFile);
        if (File.Exists(path))
        {
            var saved = PipelineSettings.Load(path).Validate();
            if (saved.Preset != settings.Preset)
                observer.Log($"{runDir} holds a '{saved.Preset}' run; continuing it with its saved settings (not '{settings.Preset}').");
            else observer.Log($"Continuing the run in {runDir} with its saved settings.");
            return saved;
        }
        if (System.IO.Directory.Exists(runDir) && System.IO.Directory.EnumerateFileSystemEntries(runDir).Any())
            throw new UserError($"{runDir} is not empty and holds no {SettingsFile}; choose a new --out directory for the pipeline.");
        System.IO.Directory.CreateDirectory(runDir);
        AtomicFile.WriteAllText(path, settings.ToJson());
        return settings;
    }

    static StepRecord? ReadRecord(string stepDir)
    {
        var path = Path.Combine(stepDir, PipelineStep.RecordFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<StepRecord>(File.ReadAllText(path), Results.Json); }
        catch (JsonException e) { throw new UserError($"{path} is damaged ({e.Message}); delete it to rerun that step."); }
    }
}
