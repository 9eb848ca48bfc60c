using Gpt4Sharp.Training;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Runs;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Gpt4Sharp.Checkpoints;

/// <summary>What <see cref="CheckpointStore.Load"/> restored besides the weights and optimizer.</summary>
public sealed record LoadedCheckpoint(string Directory, long Step, TrainerState State, JsonNode Config, RunInfo? Run);

/// <summary>
/// Checkpoints of one run under <c>RUN/checkpoints/step-NNNNNN/</c>. A save writes every file into
/// a temporary sibling directory, fsyncs each, writes <c>manifest.json</c> (size + SHA-256 of every
/// file) and only then renames the directory into place, updates the <c>latest</c> pointer and
/// prunes old checkpoints; a save that fails or is killed part-way never touches earlier ones.
/// Loading verifies the manifest first. One process writes a run directory at a time.
/// </summary>
public sealed class CheckpointStore
{
    public const string ModelFile = "model.safetensors";
    public const string ConfigFile = "config.json";
    /// <summary>TorchSharp's own optimizer format: type name, per-group options (lr, betas, eps, weight decay), then per-parameter step and moments, in parameter-group order.</summary>
    public const string OptimizerFile = "optimizer.bin";
    public const string TrainerStateFile = "trainer_state.json";
    public const string RunFile = "run.json";
    public const string LatestFile = "latest";
    const string StepPrefix = "step-";

    public string RunDirectory { get; }
    public string CheckpointsDirectory { get; }
    /// <summary>How many of the newest checkpoints survive pruning (at least 1).</summary>
    public int KeepLast { get; }

    public CheckpointStore(string runDirectory, int keepLast = 3)
    {
        if (keepLast < 1) throw new UserError($"Keeping {keepLast} checkpoints is not possible; keep at least 1.");
        RunDirectory = Path.GetFullPath(runDirectory);
        CheckpointsDirectory = Path.Combine(RunDirectory, "checkpoints");
        KeepLast = keepLast;
    }

    public static string StepDirectoryName(long step) => StepPrefix + step.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Saves a checkpoint for <paramref name="state"/>.Step and returns its directory.</summary>
    public string Save<TConfig>(nn.Module model, TConfig config, OptimizerHelper? optimizer, TrainerState state, RunInfo run)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(state.Step);
        Directory.CreateDirectory(CheckpointsDirectory);
        RemoveLeftovers();
        var name = StepDirectoryName(state.Step);
        var final = Path.Combine(CheckpointsDirectory, name);
        var temp = Path.Combine(CheckpointsDirectory, $".tmp-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var files = new List<string> { ModelFile, ConfigFile, TrainerStateFile, RunFile };
            WriteSynced(Path.Combine(temp, ModelFile), s => model.save_safetensors(s, leaveOpen: true));
            var configJson = JsonSerializer.SerializeToNode(config, config.GetType(), RunInfo.Json)!;
            WriteSynced(Path.Combine(temp, ConfigFile), s => JsonSerializer.Serialize(s, configJson, RunInfo.Json));
            if (optimizer is not null)
            {
                files.Add(OptimizerFile);
                WriteSynced(Path.Combine(temp, OptimizerFile), s =>
                {
                    using var writer = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                    optimizer.save_state_dict(writer);
                });
            }
            WriteSynced(Path.Combine(temp, TrainerStateFile), s => JsonSerializer.Serialize(s, state, RunInfo.Json));
            run.Write(temp);
            CheckpointManifest.Describe(temp, state.Step, files).Write(temp);

            if (Directory.Exists(final))
            {
                // Saving the same step again: move the old one aside first so a crash in between leaves one intact copy.
                var aside = Path.Combine(CheckpointsDirectory, $".old-{name}-{Guid.NewGuid():N}");
                Directory.Move(final, aside);
                Directory.Move(temp, final);
                Directory.Delete(aside, recursive: true);
            }
            else Directory.Move(temp, final);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        AtomicFile.WriteAllText(Path.Combine(CheckpointsDirectory, LatestFile), name + "\n");
        Prune();
        return final;
    }

    /// <summary>Checkpoint directories, newest step first (complete or not).</summary>
    public IReadOnlyList<string> List() => ListIn(CheckpointsDirectory);

    /// <summary>
    /// The newest checkpoint that verifies, or null when the run has none. Damaged newer ones are
    /// skipped with a sentence to <paramref name="warn"/>; if every checkpoint is damaged, the
    /// newest one's problem is thrown.
    /// </summary>
    public string? FindLatestValid(Action<string>? warn = null)
    {
        UserError? first = null;
        foreach (var dir in List())
        {
            try
            {
                CheckpointManifest.ReadVerified(dir);
                if (first is not null) warn?.Invoke($"{first.Message} Falling back to {Path.GetFileName(dir)}.");
                return dir;
            }
            catch (UserError e) { first ??= e; }
        }
        if (first is not null) throw first;
        return null;
    }

    /// <summary>Loads the newest valid checkpoint into <paramref name="model"/> (and <paramref name="optimizer"/>), or returns null when there is none.</summary>
    public LoadedCheckpoint? LoadLatest(nn.Module model, OptimizerHelper? optimizer, Action<string>? warn = null) =>
        FindLatestValid(warn) is { } dir ? Load(dir, model, optimizer) : null;

    /// <summary>Verifies a checkpoint directory and loads weights (and optimizer state when given) into the live objects.</summary>
    public static LoadedCheckpoint Load(string checkpointDirectory, nn.Module model, OptimizerHelper? optimizer = null)
    {
        var dir = Path.GetFullPath(checkpointDirectory);
        var manifest = CheckpointManifest.ReadVerified(dir);
        CheckTensorsFit(dir, model);
        using (NewDisposeScope()) // the tensors read from the file are copied into the parameters, then freed
        using (no_grad())
            model.load_safetensors(Path.Combine(dir, ModelFile), strict: true);
        if (optimizer is not null)
        {
            if (!manifest.Files.Any(f => f.Name == OptimizerFile))
                throw new UserError($"Checkpoint {dir} was saved without optimizer state, so training cannot resume from it exactly; start a new run initialised from its weights instead.");
            try
            {
                using var reader = new BinaryReader(File.OpenRead(Path.Combine(dir, OptimizerFile)));
                optimizer.load_state_dict(reader);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or EndOfStreamException or InvalidOperationException)
            {
                throw new UserError($"Checkpoint {dir} holds optimizer state that does not fit this optimizer ({e.Message}); resume with the optimizer settings and parameter groups the run was saved with.", e);
            }
        }
        return new LoadedCheckpoint(dir, manifest.Step, TrainerStateOf(dir, manifest), ReadConfigNode(dir), ReadRun(dir));
    }

    /// <summary>The saved model config as JSON; does not verify the checkpoint (Load, Inspect and ReadConfig do).</summary>
    public static JsonNode ReadConfigNode(string checkpointDirectory)
    {
        var path = Path.Combine(checkpointDirectory, ConfigFile);
        try { return JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("null"); }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new UserError($"{path} is missing or not valid JSON; use an intact checkpoint.", e);
        }
    }

    /// <summary>The saved model config as <typeparamref name="T"/> (snake_case JSON, as written by <see cref="Save"/>), verifying the checkpoint first.</summary>
    public static T ReadConfig<T>(string checkpointDirectory)
    {
        CheckpointManifest.ReadVerified(Path.GetFullPath(checkpointDirectory));
        var path = Path.Combine(checkpointDirectory, ConfigFile);
        try { return ReadConfigNode(checkpointDirectory).Deserialize<T>(RunInfo.Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new UserError($"{path} does not describe a {typeof(T).Name} ({e.Message}); load it with the Gpt4Sharp version that saved it.", e); }
    }

    /// <summary>
    /// Describes a checkpoint for <c>gpt4sharp info</c>: <paramref name="path"/> may be a run
    /// directory (its newest valid checkpoint), its checkpoints directory, or one step directory.
    /// </summary>
    public static CheckpointSummary Inspect(string path)
    {
        var full = Path.GetFullPath(path);
        string dir;
        if (File.Exists(Path.Combine(full, CheckpointManifest.FileName)) || File.Exists(Path.Combine(full, ModelFile))) dir = full;
        else if (Directory.Exists(Path.Combine(full, "checkpoints"))) dir = new CheckpointStore(full).FindLatestValid() ?? throw NoCheckpoint(full);
        else if (Directory.Exists(full) && Path.GetFileName(full) == "checkpoints") dir = new CheckpointStore(Path.GetDirectoryName(full)!).FindLatestValid() ?? throw NoCheckpoint(full);
        else throw NoCheckpoint(full);

        var manifest = CheckpointManifest.ReadVerified(dir);
        var tensors = SafetensorsIndex.Read(Path.Combine(dir, ModelFile));
        return new CheckpointSummary(dir, manifest.Step, tensors, tensors.Sum(t => t.Elements), manifest.Files,
            ReadConfigNode(dir), TrainerStateOf(dir, manifest), ReadRun(dir));
    }

    static UserError NoCheckpoint(string path) =>
        new($"{path} holds no Gpt4Sharp checkpoint; give a run directory, its checkpoints directory or a step-NNNNNN directory.");

    static void CheckTensorsFit(string dir, nn.Module model)
    {
        var saved = SafetensorsIndex.Read(Path.Combine(dir, ModelFile)).ToDictionary(t => t.Name);
        var problems = new List<string>();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (!saved.Remove(name, out var entry)) problems.Add($"missing {name}");
            else if (!entry.Shape.SequenceEqual(tensor.shape)) problems.Add($"{name} is [{string.Join(", ", entry.Shape)}] but the model's is [{string.Join(", ", tensor.shape)}]");
        }
        problems.AddRange(saved.Keys.Select(k => $"unexpected {k}"));
        if (problems.Count > 0)
            throw new UserError($"Checkpoint {dir} does not fit this model ({string.Join("; ", problems.Take(3))}{(problems.Count > 3 ? $"; and {problems.Count - 3} more" : "")}); build the model from the config.json saved beside it.");
    }

    /// <summary>The trainer state (step, tokens, loss history) saved in a checkpoint directory.</summary>
    public static TrainerState ReadTrainerState(string dir)
    {
        var path = Path.Combine(dir, TrainerStateFile);
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), RunInfo.Json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new UserError($"{path} is not a valid trainer state ({e.Message}); use an intact checkpoint.", e); }
    }

    /// <summary>A checkpoint that no trainer wrote (a model soup) has no trainer state; training from it starts a fresh one.</summary>
    static TrainerState TrainerStateOf(string dir, CheckpointManifest manifest) =>
        manifest.Files.Any(f => f.Name == TrainerStateFile) ? ReadTrainerState(dir) : new TrainerState();

    static RunInfo? ReadRun(string dir)
    {
        var path = Path.Combine(dir, RunFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(path), RunInfo.Json); }
        catch (JsonException) { return null; } // run.json is informative; the manifest already vouched for its bytes
    }

    static IReadOnlyList<string> ListIn(string checkpointsDir)
    {
        if (!Directory.Exists(checkpointsDir)) return [];
        return [.. Directory.EnumerateDirectories(checkpointsDir, StepPrefix + "*")
            .Select(d => (dir: d, step: long.TryParse(Path.GetFileName(d)[StepPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1))
            .Where(x => x.step >= 0)
            .OrderByDescending(x => x.step)
            .Select(x => x.dir)];
    }

    void Prune()
    {
        foreach (var old in List().Skip(KeepLast)) TryDelete(old);
    }

    /// <summary>Temporary directories left by a save that was killed; safe to delete because one process writes a run.</summary>
    void RemoveLeftovers()
    {
        foreach (var dir in Directory.EnumerateDirectories(CheckpointsDirectory, ".tmp-*").Concat(Directory.EnumerateDirectories(CheckpointsDirectory, ".old-*")))
            TryDelete(dir);
    }

    static void WriteSynced(string path, Action<Stream> write)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        write(stream);
        stream.Flush(flushToDisk: true);
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { } // best effort: a leftover is removed by the next save
        catch (UnauthorizedAccessException) { }
    }
}
