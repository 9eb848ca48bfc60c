using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Stages;

/// <summary>
/// What every training stage does with its run directory: settings saved once and read back on
/// resume (so the two halves of a resumed run cannot differ), checkpoints through the store,
/// run.json, and the trainer loop itself.
/// </summary>
static class TrainingRun
{
    public const string SettingsFile = "settings.json";

    /// <summary>
    /// The start every stage shares: loads libtorch, makes the run directory absolute, writes the
    /// settings (or reads back the saved ones on resume), seeds torch and resolves the device.
    /// </summary>
    public static StageStart<T> Start<T>(T settings, bool resume) where T : class, IStageSettings<T>
    {
        TorchRuntime.EnsureLoaded();
        var outDir = Path.GetFullPath(settings.OutDirectory);
        settings = ResolveSettings(settings.WithOutDirectory(outDir), outDir, resume);
        TorchRuntime.Seed(settings.Seed);
        return new StageStart<T>(settings, outDir, TorchRuntime.ParseDevice(settings.Device));
    }

    /// <summary>A fresh run writes its settings; a resumed run reads them back, ignoring the caller's.</summary>
    public static T ResolveSettings<T>(T settings, string outDir, bool resume) where T : class
    {
        var path = Path.Combine(outDir, SettingsFile);
        if (resume)
        {
            if (!File.Exists(path)) throw new UserError($"There is nothing to resume in {outDir} (no {SettingsFile}); start the run without --resume.");
            try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), RunInfo.Json) ?? throw new JsonException("empty"); }
            catch (JsonException e) { throw new UserError($"{path} is not valid ({e.Message}); start a new run in another --out directory.", e); }
        }
        if (new CheckpointStore(outDir).List().Count > 0)
            throw new UserError($"{outDir} already holds checkpoints; pass --resume to continue that run or choose another --out directory.");
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(settings, RunInfo.Json));
        return settings;
    }

    /// <summary>Restores the newest valid checkpoint (weights, optimiser, trainer state) when resuming; returns it or null.</summary>
    public static LoadedCheckpoint? Restore(CheckpointStore store, Trainer trainer, bool resume, Action<string> log)
    {
        var loaded = resume ? store.LoadLatest(trainer.Model, trainer.Optimizer, log) : null;
        if (loaded is null) return null;
        var (from, to) = (loaded.State, trainer.State);
        to.Step = from.Step;
        to.TokensSeen = from.TokensSeen;
        to.TrainSeconds = from.TrainSeconds;
        to.BestValLoss = from.BestValLoss;
        to.LossHistory.AddRange(from.LossHistory);
        to.ValLossHistory.AddRange(from.ValLossHistory);
        log($"Resuming from {Path.GetFileName(loaded.Directory)} (step {loaded.Step}).");
        return loaded;
    }

    /// <summary>Runs the trainer, checkpointing into the store; returns (completed, last checkpoint directory).</summary>
    public static (bool Completed, string Checkpoint) Train(Trainer trainer, CheckpointStore store, JsonObject configJson, RunInfo run,
        string? resumedFrom, IProgress<TrainProgress>? progress, CancellationToken cancel)
    {
        run.Write(store.RunDirectory);
        string last = resumedFrom ?? "";
        bool completed = trainer.Run(progress, t => last = store.Save(t.Model, configJson, t.Optimizer, t.State, run), cancel);
        return (completed, last);
    }
}
