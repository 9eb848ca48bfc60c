namespace Gpt4Sharp.Runs;

/// <summary>Writes files so a crash never leaves a half-written one: temp file, fsync, rename.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>One JSON object per line (System.Text.Json's default options), written atomically.</summary>
    public static void WriteJsonLines<T>(string path, IEnumerable<T> items) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            foreach (var item in items) w.Write(System.Text.Json.JsonSerializer.Serialize(item) + "\n");
        });

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }
}
