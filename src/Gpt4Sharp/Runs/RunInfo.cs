using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Runtime;

namespace Gpt4Sharp.Runs;

/// <summary>
/// The record every run writes as <c>run.json</c>: what was run (command and config), with
/// which seed, on which versions and commit, so the run can be reproduced; and on which processor, with which
/// numerics environment, because CPU kernels differ by vector extension and so a run's bits differ across machines
/// (<see cref="CpuIdentity"/>). Files written before the processor fields existed read back with them null.
/// </summary>
public sealed record RunInfo(
    string Command,
    long Seed,
    JsonNode? Config,
    string StartedUtc,
    string? GitCommit,
    string Gpt4SharpVersion,
    string DotnetVersion,
    string TorchSharpVersion,
    string Os,
    int ProcessorCount,
    string? Cpu,
    IReadOnlyList<string>? CpuVectorExtensions,
    IReadOnlyDictionary<string, string>? NumericsEnvironment)
{
    /// <summary>
    /// Options for run.json, settings.json and trainer states. A loss can be NaN (a validation
    /// split with no target tokens, a diverged run): it is written as "NaN" rather than failing
    /// the checkpoint that records it.
    /// </summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static RunInfo Capture(string command, long seed, object? config) => new(
        command,
        seed,
        config is null ? null : JsonSerializer.SerializeToNode(config, config.GetType(), Json),
        DateTime.UtcNow.ToString("O"),
        CurrentGitCommit(),
        typeof(RunInfo).Assembly.GetName().Version?.ToString() ?? "0",
        Environment.Version.ToString(),
        typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "unknown",
        System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        Environment.ProcessorCount,
        CpuIdentity.Name(),
        CpuIdentity.VectorExtensions(),
        CpuIdentity.NumericsEnvironment());

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, "run.json"), JsonSerializer.Serialize(this, Json));
    }

    /// <summary>The commit of the git checkout the process runs in, or null outside one.</summary>
    public static string? CurrentGitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            });
            if (git is null) return null;
            var sha = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && sha.Length >= 7 ? sha : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
