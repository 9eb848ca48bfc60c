using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Scaling;

/// <summary>
/// What a sweep keeps in its directory so that an interrupted one can continue: its settings
/// (OUT/sweep.json, written at start) and every finished run's <see cref="SweepPoint"/>
/// (OUT/runs/NAME/point.json, written atomically when the run ends). JSON keeps doubles exact, so
/// predictions from reloaded points equal those from the points in memory.
/// </summary>
sealed class SweepStore
{
    public const string SettingsFile = "sweep.json", RunsDirectory = "runs", PointFile = "point.json";

    /// <summary>
    /// Settings a resumed sweep may change: where it is, how it runs, how many held-out seeds it trains
    /// (more adds runs; fewer uses the first ones), and which prediction is the headline (every prediction
    /// is made again on resume; sweeps saved before the setting existed lack it).
    /// </summary>
    static readonly HashSet<string> ChangeableOnResume = [.. new[]
    {
        nameof(ScalingSettings.OutDirectory), nameof(ScalingSettings.Workers), nameof(ScalingSettings.HeldOutSeeds), nameof(ScalingSettings.Resume),
        nameof(ScalingSettings.FrontierHeadline),
    }.Select(JsonNamingPolicy.SnakeCaseLower.ConvertName)];

    SweepStore(string directory) => Directory = directory;

    /// <summary>The sweep's directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>
    /// Starts a sweep in a new or empty directory, or with <see cref="ScalingSettings.Resume"/> continues
    /// the one there after checking that it was started with the same settings; saves the settings.
    /// </summary>
    public static SweepStore Open(ScalingSettings settings)
    {
        var directory = Path.GetFullPath(settings.OutDirectory);
        var settingsPath = Path.Combine(directory, SettingsFile);
        var current = JsonSerializer.SerializeToNode(settings, Results.Json)!.AsObject();
        if (settings.Resume)
        {
            if (!File.Exists(settingsPath))
                throw new UserError($"{directory} holds no sweep to resume ({SettingsFile} is missing); drop --resume to start a new sweep there.");
            var saved = ReadJson(settingsPath, text => JsonNode.Parse(text)!.AsObject());
            foreach (var (name, value) in current)
                if (!ChangeableOnResume.Contains(name) && !JsonNode.DeepEquals(value, saved[name]))
                    throw new UserError($"The sweep in {directory} was started with {name} = {saved[name]?.ToJsonString() ?? "(unset)"}, not {value?.ToJsonString() ?? "(unset)"}; resume it with its own settings or start a new --out.");
        }
        else if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
            throw new UserError($"{directory} is not empty; choose a new --out directory for the sweep{(File.Exists(settingsPath) ? ", or pass --resume to continue the sweep there" : "")}.");
        // Rewritten on resume too, so the file records the held-out seeds the sweep now has.
        AtomicFile.WriteAllText(settingsPath, current.ToJsonString(Results.Json));
        return new SweepStore(directory);
    }

    /// <summary>Saves a finished run's results; a crash leaves either the whole file or none.</summary>
    public void Save(SweepPoint point) => AtomicFile.WriteAllText(PointPath(point.Plan), JsonSerializer.Serialize(point, Results.Json));

    /// <summary>The saved results of <paramref name="plan"/>'s run, or null when it has not finished.</summary>
    public SweepPoint? Load(SweepRunPlan plan)
    {
        var path = PointPath(plan);
        if (!File.Exists(path)) return null;
        var point = ReadJson(path, text => JsonSerializer.Deserialize<SweepPoint>(text, Results.Json)!);
        // Equal settings give equal plans, unless the planning code changed since the run was saved.
        if (point.Plan != plan)
            throw new UserError($"{path} holds a run planned as {point.Plan} but this sweep now plans it as {plan}; finish the sweep with the version that started it or start a new --out.");
        return point;
    }

    /// <summary>Parses a file the sweep wrote; one edited or damaged by hand is named in one sentence.</summary>
    static T ReadJson<T>(string path, Func<string, T> parse)
    {
        try { return parse(File.ReadAllText(path)); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new UserError($"{path} is not the JSON this sweep wrote ({e.Message.Split('\n')[0]}); delete it to retrain that run, or start a new --out.");
        }
    }

    string PointPath(SweepRunPlan plan) => Path.Combine(Directory, RunsDirectory, plan.Name, PointFile);
}
