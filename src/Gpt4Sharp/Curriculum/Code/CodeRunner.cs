using System.Diagnostics;

namespace Gpt4Sharp.Curriculum.Code;

/// <summary>Outcome of running a Python program: passed, or why not.</summary>
public sealed record CodeRunResult(bool Passed, string Reason);

/// <summary>Runs a complete Python program (solution + tests) and reports pass or fail.</summary>
public interface ICodeRunner
{
    CodeRunResult Run(string program, TimeSpan timeout);
}

/// <summary>
/// Runs python3 as a plain child process with a timeout. It does not isolate the program:
/// use it for the trusted canonical solutions; model-written code belongs in the sandboxed
/// runner the evaluation stage passes to <see cref="CodeFamily"/>.
/// </summary>
public sealed class Python3Runner : ICodeRunner
{
    public static bool Available { get; } = Probe();

    public CodeRunResult Run(string program, TimeSpan timeout)
    {
        if (!Available) throw new UserError("python3 is not on PATH; install python3 to run code checks.");
        var psi = new ProcessStartInfo("python3", ["-I", "-"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        process.StandardInput.Write(program);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new CodeRunResult(false, $"timed out after {timeout.TotalSeconds:0.#} s");
        }
        if (process.ExitCode == 0) return new CodeRunResult(true, "all tests passed");
        var last = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit code {process.ExitCode}";
        _ = stdout.Result;
        return new CodeRunResult(false, last.StartsWith("AssertionError", StringComparison.Ordinal) ? "a test assertion failed" : last.Trim());
    }

    static bool Probe()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("python3", "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (p is null) return false;
            p.WaitForExit(10_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
