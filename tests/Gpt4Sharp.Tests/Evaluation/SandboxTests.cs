using System.Net;
using System.Net.Sockets;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Evaluation;

/// <summary>
/// The hostile suite: each program attacks the sandbox; every attack must be contained,
/// the harness must survive and the verdict must be right. Runs with bubblewrap when it is
/// installed (./test.sh installs it) and says which isolation it tested.
/// </summary>
public class SandboxTests
{
    static readonly SandboxOptions Fast = new() { Timeout = TimeSpan.FromSeconds(1), Grace = TimeSpan.FromSeconds(1) };

    static PythonSandbox? TryCreate(SandboxOptions options)
    {
        if (PythonSandbox.FindOnPath("python3") is null && options.Python is null) return null; // ./test.sh installs python3
        return new PythonSandbox(options);
    }

    /// <summary>Runs a program; xunit 2 has no dynamic skip, so without python3 the test returns early (null).</summary>
    static async Task<SandboxResult?> Run(string program, SandboxOptions? options = null) =>
        TryCreate(options ?? Fast) is { } sandbox ? await sandbox.RunAsync(program) : null;

    /// <summary>
    /// Live processes whose command line holds <paramref name="token"/>. Other test classes run
    /// sandboxes at the same time, so leftovers are recognised by a token unique to the test.
    /// </summary>
    static List<string> LeftoverProcesses(string token)
    {
        var left = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])))
        {
            try
            {
                if (File.ReadLines(Path.Combine(dir, "status")).Any(l => l.StartsWith("State:") && l.Contains("zombie"))) continue; // dead, awaiting its reaper
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(token)) left.Add(cmdline);
            }
            catch (IOException) { } // exited while we looked
        }
        return left;
    }

    /// <summary>A fork bomb whose every process carries <paramref name="token"/> in its command line.</summary>
    static string ForkBomb(string token) =>
        "import os, sys\n" +
        "bomb = 'import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass\\n'\n" +
        $"os.execv(sys.executable, [sys.executable, '-c', bomb + '# {token}'])";

    [Fact]
    public async Task PassingAndFailingProgramsGetTheirVerdicts()
    {
        var passed = await Run("assert 1 + 1 == 2\nprint('ok')");
        if (passed is null) return;
        Assert.Equal(SandboxVerdict.Passed, passed.Verdict);
        Assert.Equal("ok\n", passed.Stdout);
        var failed = await Run("raise ValueError('bad value')");
        if (failed is null) return;
        Assert.Equal(SandboxVerdict.Failed, failed.Verdict);
        Assert.Equal("failed: bad value", failed.Result);
        var syntax = await Run("def broken(:\n  pass");
        if (syntax is null) return;
        Assert.Equal(SandboxVerdict.Failed, syntax.Verdict);
        Assert.StartsWith("failed: invalid syntax", syntax.Result);
    }

    [Fact]
    public async Task InfiniteLoopTimesOut()
    {
        var result = await Run("while True:\n    pass");
        if (result is null) return;
        Assert.Equal(SandboxVerdict.TimedOut, result.Verdict);
        Assert.Equal("timed out", result.Result);
    }

    [Fact]
    public async Task LoopThatSwallowsTheTimerIsKilledAtTheWallLimit()
    {
        var result = await Run("while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass");
        if (result is null) return;
        Assert.Equal(SandboxVerdict.TimedOut, result.Verdict);
        Assert.InRange(result.Seconds, 1.5, 6);
    }

    [Fact]
    public async Task ForkBombIsCappedAndLeavesNothingBehind()
    {
        if (TryCreate(Fast) is not { } sandbox || !sandbox.Isolation.Contains("own uid")) return; // limit not enforceable here
        var token = $"bomb-{Guid.NewGuid():N}";
        var result = await sandbox.RunAsync(ForkBomb(token));
        // The program exec'd away the verdict writer; the timer's SIGALRM then kills it: no verdict, a crash.
        // On a heavily loaded machine the harness's wall clock can fire first: timed out. Both are contained.
        Assert.Contains(result.Verdict, new[] { SandboxVerdict.Crashed, SandboxVerdict.TimedOut });
        Assert.Empty(LeftoverProcesses(token));
    }

    [Fact]
    public async Task BackgroundChildrenAreKilledWithTheRun()
    {
        if (TryCreate(Fast) is not { } sandbox || !sandbox.Isolation.Contains("own uid")) return; // cannot tell sandbox processes apart
        var token = $"{Random.Shared.Next(1000, 9999)}.{Random.Shared.Next(100000, 999999)}";
        var result = await sandbox.RunAsync($"import subprocess\nsubprocess.Popen(['sleep', '{token}'], start_new_session=True)\nprint('spawned')");
        Assert.True(result.Passed, Describe(result));
        Assert.Empty(LeftoverProcesses(token));
    }

    [Fact]
    public async Task TenGigabyteAllocationFailsWithMemoryError()
    {
        var result = await Run("x = bytearray(10 * 1024 ** 3)\nx[-1] = 1");
        if (result is null) return;
        Assert.True(result.Verdict == SandboxVerdict.Failed, Describe(result));
        Assert.Equal("failed: ", result.Result); // str(MemoryError()) is empty, as in the public harness
    }

    [Fact]
    public async Task WritesOutsideTheWorkingDirectoryNeverReachTheHost()
    {
        var hostDir = RepoPaths.NewTempDir("g4s-escape");
        var targets = new[] { Path.Combine(hostDir, "escaped.txt"), Path.Combine(RepoPaths.Root, $"escaped-{Guid.NewGuid():N}.txt"), $"/tmp/escaped-{Guid.NewGuid():N}.txt" };
        var program = "written = []\n" + string.Join("", targets.Select(t =>
            $"try:\n    open({PyString(t)}, 'w').write('x')\n    written.append({PyString(t)})\nexcept OSError:\n    pass\n")) +
            "open('inside.txt', 'w').write('fine')\nprint(written)";
        var result = await Run(program);
        if (result is null) return;
        Assert.True(result.Passed, Describe(result));
        foreach (var target in targets) Assert.False(File.Exists(target), $"{target} escaped the sandbox ({result.Isolation})");
        Directory.Delete(hostDir, true);
    }

    [Fact]
    public async Task NetworkConnectionsFail()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var result = await Run($"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=0.5).sendall(b'hello')");
        if (result is null) return;
        Assert.True(result.Verdict == SandboxVerdict.Failed, Describe(result));
        Assert.False(listener.Pending(), "the sandboxed program reached a socket on the host");
    }

    [Fact]
    public async Task KillingTheParentLeavesTheHarnessAlive()
    {
        var result = await Run("import os\nos.kill(os.getppid(), 9)\nos.kill(1, 9)\nimport time\ntime.sleep(0.2)");
        if (result is null) return;
        Assert.NotEqual(SandboxVerdict.Passed, result.Verdict);
        var after = await Run("print('still here')");
        if (after is null) return;
        Assert.True(after.Passed, Describe(after));
        Assert.Equal(SandboxVerdict.Passed, after.Verdict);
    }

    [Fact]
    public async Task EnvironmentSecretsAreNotVisible()
    {
        const string secret = "G4S_SECRET";
        Environment.SetEnvironmentVariable(secret, "hunter2-sandbox-test");
        try
        {
            var result = await Run($$"""
                import os, glob
                assert {{PyString(secret)}} not in os.environ, 'secret visible in os.environ'
                seen = []
                for path in glob.glob('/proc/*/environ'):
                    try:
                        seen.append(open(path, 'rb').read())
                    except OSError:
                        pass
                assert not any(b'hunter2' in blob for blob in seen), 'secret visible in /proc'
                """);
            if (result is null) return;
            Assert.True(result.Passed, Describe(result));
        }
        finally
        {
            Environment.SetEnvironmentVariable(secret, null);
        }
    }

    [Fact]
    public async Task HundredMegabytesOfOutputIsTruncatedAndTheVerdictHolds()
    {
        var result = await Run("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(50):\n    sys.stdout.write(chunk)\n    sys.stderr.write(chunk)\nsys.stdout.flush()",
            new SandboxOptions());
        if (result is null) return;
        Assert.True(result.Passed, Describe(result));
        Assert.True(result.OutputTruncated);
        Assert.Equal(Fast.OutputCapBytes, result.Stdout.Length);
    }

    [Fact]
    public async Task ProgramsThatDieWithoutAVerdictCrash()
    {
        var exited = await Run("import os\nos._exit(3)");
        if (exited is null) return;
        Assert.Equal(SandboxVerdict.Crashed, exited.Verdict);
        Assert.Contains("exit code 3", exited.Result);
        var segfault = await Run("import ctypes\nctypes.string_at(0)");
        if (segfault is null) return;
        Assert.Equal(SandboxVerdict.Crashed, segfault.Verdict);
        Assert.Contains("signal 11", segfault.Result);
    }

    [Fact]
    public async Task EveryResultRecordsTheIsolationInForce()
    {
        var result = await Run("pass");
        if (result is null) return;
        var expected = PythonSandbox.FindOnPath("bwrap") is null ? "none (bubblewrap not installed)" : "bubblewrap:";
        Assert.StartsWith(expected, result.Isolation);
    }

    [Fact]
    public async Task WithoutBubblewrapTheLimitsStillHold()
    {
        // System python: reachable by other users, so the run can drop root and the process limit binds.
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : null;
        if (TryCreate(Fast with { UseBubblewrap = false, Python = python }) is not { } sandbox) return;
        Assert.StartsWith("none (bubblewrap disabled)", sandbox.Isolation);
        Assert.Equal(SandboxVerdict.Passed, (await sandbox.RunAsync("print(1)")).Verdict);
        Assert.Equal(SandboxVerdict.TimedOut, (await sandbox.RunAsync("while True: pass")).Verdict);
        Assert.Equal(SandboxVerdict.Failed, (await sandbox.RunAsync("bytearray(10 * 1024 ** 3)")).Verdict);
        if (sandbox.Isolation.Contains("own network namespace"))
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Assert.Equal(SandboxVerdict.Failed, (await sandbox.RunAsync($"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=0.5)")).Verdict);
            Assert.False(listener.Pending());
        }
        if (sandbox.Isolation.Contains("own uid"))
        {
            var token = $"bomb-{Guid.NewGuid():N}";
            var bomb = await sandbox.RunAsync(ForkBomb(token));
            Assert.Equal(SandboxVerdict.Crashed, bomb.Verdict);
            Assert.Empty(LeftoverProcesses(token));
        }
    }

    [Fact]
    public void MissingInterpreterIsAClearError()
    {
        var error = Assert.Throws<UserError>(() => new PythonSandbox(new SandboxOptions { Python = "/nonexistent/python3" }));
        Assert.Contains("install python3", error.Message);
    }

    [Fact]
    public async Task ParallelWorkersKeepInputOrder()
    {
        if (TryCreate(Fast) is not { } sandbox) return;
        var programs = Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? $"print({i})" : $"raise SystemExit({i})").ToList();
        var results = await sandbox.RunManyAsync(programs, workers: 2, humanEvalCompatible: false);
        for (var i = 0; i < programs.Count; i++)
        {
            if (i % 2 == 0) Assert.Equal($"{i}\n", results[i].Stdout);
            else Assert.Equal($"failed: {i}", results[i].Result);
        }
    }

    static string Describe(SandboxResult r) => $"{r.Result} | {r.Stderr[..Math.Min(300, r.Stderr.Length)]}";

    static string PyString(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
