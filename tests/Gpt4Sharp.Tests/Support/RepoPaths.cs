namespace Gpt4Sharp.Tests.Support;

/// <summary>Locates the repository root and the shared benchmark data beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/data next to the checkout; tests that read it skip when it is absent.</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    public static string NewTempDir(string prefix = "g4s")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gpt4Sharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Tests must run inside the Gpt4Sharp checkout.");
    }
}
