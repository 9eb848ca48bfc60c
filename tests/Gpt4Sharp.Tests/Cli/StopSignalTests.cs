using System.Diagnostics;
using System.Runtime.InteropServices;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Cli;

/// <summary>
/// A termination signal must reach a verb as cancellation, so a long run saves its checkpoint and says how to
/// continue. Runs the real CLI as a child process: the signal is SIGTERM because a shell that starts this suite
/// in the background makes its children ignore SIGINT, while the CLI handles both the same way.
/// </summary>
public class StopSignalTests
{
    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    const int SigTerm = 15;

    [Fact]
    public void Sigterm_stops_pretraining_after_a_step_with_a_checkpoint_and_the_resume_command()
    {
        var dir = RepoPaths.NewTempDir();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "Gpt4Sharp.Cli.dll"), "pretrain", "--out", dir, "--steps", "1000000", "--corpus-docs", "200",
            "--tokenizer-vocab", "300", "--d-model", "32", "--layers", "1", "--heads", "2", "--context", "64", "--seq-len", "32",
            "--batch-size", "2", "--eval-every", "0", "--checkpoint-every", "1000000", "--device", "cpu",
        }) start.ArgumentList.Add(arg);
        start.Environment["OMP_NUM_THREADS"] = "1";

        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        using var training = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.StartsWith("step ", StringComparison.Ordinal)) training.Set();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Assert.True(training.Wait(TimeSpan.FromMinutes(2)), $"no training step was reported: {output}");
            Assert.Equal(0, kill(process.Id, SigTerm));
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the run did not stop within a minute of SIGTERM");
            process.WaitForExit(); // flushes the redirected streams
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        string text = output.ToString();
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("SIGTERM: stopping; training finishes its step and saves a checkpoint first", text);
        Assert.Contains("--resume", text);
        Assert.Contains("not measured yet", text); // no evaluation ran, so no "after" loss is invented
        Assert.NotEmpty(Directory.GetDirectories(Path.Combine(dir, "checkpoints"), "step-*"));
    }
}
