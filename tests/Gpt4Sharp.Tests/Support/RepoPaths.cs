namespace Gpt4Sharp.Tests.Support;

/// <summary>Locates the repository root and the shared benchmark data beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/data next to the checkout; tests that read it skip when it is absent.</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    static readonly System.Collections.Concurrent.ConcurrentBag<string> created = [];

    static RepoPaths() => AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteCreated();

    /// <summary>A new empty directory under the system temp folder, deleted when the test process exits.</summary>
    public static string NewTempDir(string prefix = "g4s")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        created.Add(dir);
        return dir;
    }

    // Each suite run makes a few hundred of these (runs, checkpoints, tokenizers); left behind
    // they filled this machine's disk. A directory still in use by a child process is skipped.
    static void DeleteCreated()
    {
        foreach (var dir in created)
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gpt4Sharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Tests must run inside the Gpt4Sharp checkout.");
    }
}
