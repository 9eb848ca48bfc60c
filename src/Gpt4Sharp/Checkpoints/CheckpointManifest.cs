using System.Security.Cryptography;
using System.Text.Json;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Checkpoints;

/// <summary>Size and SHA-256 of one file of a checkpoint.</summary>
public sealed record ManifestFile(string Name, long Bytes, string Sha256);

/// <summary>
/// <c>manifest.json</c>: the list of every other file in a checkpoint with its size and SHA-256.
/// It is written last inside the temporary directory, so a checkpoint with a valid manifest whose
/// files all match is complete.
/// </summary>
public sealed record CheckpointManifest(string Format, int FormatVersion, long Step, string CreatedUtc, IReadOnlyList<ManifestFile> Files)
{
    public const string FileName = "manifest.json";
    public const string FormatName = "gpt4sharp-checkpoint";
    public const int CurrentVersion = 1;

    public static CheckpointManifest Describe(string dir, long step, IEnumerable<string> files) =>
        new(FormatName, CurrentVersion, step, DateTime.UtcNow.ToString("O"),
            [.. files.Select(f => new ManifestFile(f, new FileInfo(Path.Combine(dir, f)).Length, HashFile(Path.Combine(dir, f))))]);

    public void Write(string dir) => AtomicFile.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, RunInfo.Json));

    /// <summary>Reads the manifest and checks every file's size and hash; throws a <see cref="UserError"/> naming the first bad file.</summary>
    public static CheckpointManifest ReadVerified(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw Corrupt(dir, $"has no {FileName} (an interrupted save or a directory that is not a checkpoint)");
        CheckpointManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path), RunInfo.Json); }
        catch (JsonException) { manifest = null; }
        if (manifest is null || manifest.Format != FormatName || manifest.Files is null || manifest.Files.Count == 0)
            throw Corrupt(dir, $"has an unreadable {FileName}");
        if (manifest.FormatVersion != CurrentVersion)
            throw Corrupt(dir, $"has checkpoint format version {manifest.FormatVersion} but this build reads version {CurrentVersion}");
        foreach (var file in manifest.Files)
        {
            var full = Path.Combine(dir, file.Name);
            if (file.Name.Contains('/') || file.Name.Contains('\\') || file.Name == FileName) throw Corrupt(dir, $"lists an invalid file name '{file.Name}' in {FileName}");
            if (!File.Exists(full)) throw Corrupt(dir, $"is missing {file.Name}");
            var size = new FileInfo(full).Length;
            if (size != file.Bytes) throw Corrupt(dir, $"has a {size}-byte {file.Name} where {file.Bytes} bytes were saved (truncated or overwritten)");
            if (!string.Equals(HashFile(full), file.Sha256, StringComparison.OrdinalIgnoreCase)) throw Corrupt(dir, $"has a damaged {file.Name} (its SHA-256 differs from the one saved)");
        }
        return manifest;
    }

    static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static UserError Corrupt(string dir, string why) =>
        new($"Checkpoint {dir} {why}; resume from an earlier checkpoint (delete this directory) or save it again.");
}
