using System.Diagnostics;

namespace Gpt4Sharp.Tests.Support;

/// <summary>Locates the repository root and the shared benchmark data beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/data next to the checkout; tests that read it skip when it is absent.</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    const string ProcessRootPrefix = "g4s-tests-";

    // Every temp directory of this test process lives under one folder named after the process.
    // The test host is often stopped without running exit handlers, so each suite run used to
    // leave about a hundred runs, checkpoints and tokenizers in the temp folder; the next run now
    // deletes the folders of processes that are gone.
    static readonly Lazy<string> processRoot = new(() =>
    {
        DeleteStaleRoots(Path.GetTempPath());
        var root = Path.Combine(Path.GetTempPath(), $"{ProcessRootPrefix}{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    /// <summary>A new empty directory under the system temp folder, deleted when the test process exits or, failing that, by the next test run.</summary>
    public static string NewTempDir(string prefix = "g4s")
    {
        var dir = Path.Combine(processRoot.Value, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Deletes the per-process folders under <paramref name="tempDir"/> whose process no longer runs.</summary>
    public static void DeleteStaleRoots(string tempDir)
    {
        foreach (var dir in Directory.EnumerateDirectories(tempDir, ProcessRootPrefix + "*"))
            if (int.TryParse(Path.GetFileName(dir)[ProcessRootPrefix.Length..], out var pid) && !IsRunning(pid))
                TryDelete(dir);
    }

    static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
    }

    // A directory still in use by a child process (a sandboxed program being killed) is left for the next run.
    static void TryDelete(string dir)
    {
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
