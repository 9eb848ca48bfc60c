namespace Gpt4Sharp.Tests.Support;

public class RepoPathsTests
{
    [Fact]
    public void TempDirectoriesLiveUnderThisProcessesFolder()
    {
        var dir = RepoPaths.NewTempDir("g4s-check");
        Assert.True(Directory.Exists(dir));
        Assert.Equal($"g4s-tests-{Environment.ProcessId}", Path.GetFileName(Path.GetDirectoryName(dir)));
    }

    [Fact]
    public void FoldersOfProcessesThatAreGoneAreDeletedAndLiveOnesKept()
    {
        var temp = RepoPaths.NewTempDir("g4s-fake-temp");
        // Linux process ids stay below 2^22, so this one cannot be running.
        var gone = Directory.CreateDirectory(Path.Combine(temp, "g4s-tests-2147483646", "g4s-run", "checkpoints")).Parent!.Parent!.FullName;
        var alive = Directory.CreateDirectory(Path.Combine(temp, $"g4s-tests-{Environment.ProcessId}")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(temp, "g4s-tests-notapid")).FullName;

        RepoPaths.DeleteStaleRoots(temp);

        Assert.False(Directory.Exists(gone));
        Assert.True(Directory.Exists(alive));
        Assert.True(Directory.Exists(other));
    }
}
