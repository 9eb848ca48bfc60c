using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Gpt4Sharp.Evaluation.Sandbox;

/// <summary>
/// Runs untrusted Python programs, one child process each, in a fresh temporary directory
/// with resource limits, no network, no inherited environment, and everything it started
/// killed at the end. Uses bubblewrap (mount, PID, network, IPC and UTS namespaces) when it
/// is installed; otherwise a plain process with the same limits, and each result says which
/// isolation was in force.
/// </summary>
public sealed class PythonSandbox
{
    /// <summary>Sandboxed runs get uids from FirstUid up (when the harness is root), one per running program.</summary>
    public const int FirstUid = 61000;
    const int UidCount = 1000;

    readonly SandboxOptions _options;
    readonly PythonInfo _python;
    readonly string? _bwrap;
    readonly string? _unshare;
    readonly bool _isRoot;
    readonly bool _canDropRoot;

    public PythonSandbox(SandboxOptions? options = null)
    {
        _options = options ?? new SandboxOptions();
        _python = PythonInfo.Resolve(_options.Python);
        _isRoot = Environment.IsPrivilegedProcess;
        _bwrap = _options.UseBubblewrap == false ? null : FindOnPath("bwrap");
        if (_options.UseBubblewrap == true && _bwrap is null)
            throw new UserError("bubblewrap (bwrap) is not installed; install it (Debian: apt-get install bubblewrap) or run without requiring it.");
        _unshare = _bwrap is null && _isRoot ? FindOnPath("unshare") : null;
        // Under bubblewrap the interpreter's directories are re-created world-readable; without
        // it a non-root uid can only run an interpreter every user can reach.
        _canDropRoot = _isRoot && (_bwrap is not null || _python.ReachableByOthers);
        Isolation = DescribeIsolation();
    }

    /// <summary>The isolation every result of this sandbox carries, in words.</summary>
    public string Isolation { get; }

    /// <summary>Whether bubblewrap is on PATH, i.e. whether a default sandbox gets namespaces.</summary>
    public static bool BubblewrapInstalled => FindOnPath("bwrap") is not null;

    string DescribeIsolation()
    {
        var identity = _canDropRoot ? $"runs as its own uid (from {FirstUid}), so the process limit holds"
            : _isRoot ? "runs as root because the interpreter is not reachable by other users, so the process limit is not enforced"
            : "runs as the harness's user";
        const string limits = "rlimits on memory, CPU, file size, open files and processes";
        if (_bwrap is not null)
            return $"bubblewrap: new mount, PID, network, IPC and UTS namespaces; {identity}; {limits}";
        var why = _options.UseBubblewrap == false ? "bubblewrap disabled" : "bubblewrap not installed";
        var network = _unshare is not null ? "own network namespace (unshare)" : "network NOT isolated (needs root for unshare)";
        return $"none ({why}): {network}; {identity}; {limits}; process group killed at the end";
    }

    /// <summary>
    /// Runs one program. <paramref name="humanEvalCompatible"/> applies the public harness's
    /// in-process guard and swallowed IO and runs the code with empty globals, so verdicts
    /// and error texts match it.
    /// </summary>
    public async Task<SandboxResult> RunAsync(string program, bool humanEvalCompatible = false, CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
            throw new UserError("The Python sandbox needs Linux (namespaces and rlimits); run code evaluation on a Linux machine.");
        using var uidClaim = _canDropRoot ? UidClaim.Acquire() : null;
        var jobDir = Directory.CreateTempSubdirectory("g4s-sandbox-").FullName;
        try
        {
            // World-writable so the run's own uid can write its cwd; the path is random and private to this run.
            File.SetUnixFileMode(jobDir, (UnixFileMode)0b111_111_111);
            File.WriteAllText(Path.Combine(jobDir, SandboxPreamble.FileName), SandboxPreamble.Source);
            File.WriteAllText(Path.Combine(jobDir, "program.py"), program);
            return await RunInDirectoryAsync(jobDir, uidClaim?.Uid ?? -1, humanEvalCompatible, cancellationToken);
        }
        finally
        {
            try { Directory.Delete(jobDir, recursive: true); }
            catch (IOException) { } // a leftover temp dir is harmless; the verdict is already taken
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Runs many programs on <paramref name="workers"/> parallel workers; results come back in input order.</summary>
    public async Task<SandboxResult[]> RunManyAsync(IReadOnlyList<string> programs, int workers, bool humanEvalCompatible,
        Action<SandboxResult>? onResult = null, CancellationToken cancellationToken = default)
    {
        if (workers < 1) throw new UserError($"--workers must be at least 1 (got {workers}).");
        var results = new SandboxResult[programs.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, programs.Count),
            new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                results[i] = await RunAsync(programs[i], humanEvalCompatible, ct);
                onResult?.Invoke(results[i]);
            });
        return results;
    }

    async Task<SandboxResult> RunInDirectoryAsync(string jobDir, int uid, bool compat, CancellationToken cancellationToken)
    {
        var inside = _bwrap is not null ? "/sandbox" : jobDir;
        var preambleArgs = new List<string>
        {
            "-I", $"{inside}/{SandboxPreamble.FileName}", $"{inside}/program.py", $"{inside}/.verdict",
            _options.Timeout.TotalSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            _options.MemoryBytes.ToString(), _options.CpuSeconds.ToString(), _options.FileSizeBytes.ToString(),
            _options.OpenFiles.ToString(), ProcessLimit(uid).ToString(), uid.ToString(),
            _bwrap is null ? "1" : "0", compat ? "1" : "0",
        };
        var (file, args) = _bwrap is not null ? (_bwrap, BubblewrapArguments(jobDir).Append(_python.Executable).Concat(preambleArgs))
            : _unshare is not null ? (_unshare, new[] { "--net", "--", _python.Executable }.Concat(preambleArgs))
            : (_python.Executable, preambleArgs);

        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false, WorkingDirectory = jobDir,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // Nothing of the harness's environment (keys, tokens) reaches the program.
        start.Environment.Clear();
        foreach (var (key, value) in MinimalEnvironment(inside)) start.Environment[key] = value;

        var clock = Stopwatch.StartNew();
        using var process = await LauncherThread.StartAsync(start);
        process.StandardInput.Close();
        var stdout = BoundedCapture.ReadAsync(process.StandardOutput.BaseStream, _options.OutputCapBytes);
        var stderr = BoundedCapture.ReadAsync(process.StandardError.BaseStream, _options.OutputCapBytes);

        var wallExceeded = false;
        using (var wall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            wall.CancelAfter(_options.Timeout + _options.Grace);
            try { await process.WaitForExitAsync(wall.Token); }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { wallExceeded = true; }
            finally { KillEverything(process, uid); }
        }
        cancellationToken.ThrowIfCancellationRequested();
        var seconds = clock.Elapsed.TotalSeconds;

        // Descendants that escaped the kill could hold the pipes open; never wait on them for long.
        var captured = Task.WhenAll(stdout, stderr);
        if (await Task.WhenAny(captured, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)) != captured)
            return Build(SandboxVerdict.Crashed, "crashed: output pipes held open after the kill", null, new("", false), new("", false));
        var (outText, errText) = (stdout.Result, stderr.Result);
        int? exitCode = wallExceeded ? null : process.ExitCode;

        if (wallExceeded)
            return Build(SandboxVerdict.TimedOut, "timed out", exitCode, outText, errText);
        var verdictText = ReadVerdict(Path.Combine(jobDir, ".verdict"));
        if (verdictText == "passed" && exitCode == 0)
            return Build(SandboxVerdict.Passed, "passed", exitCode, outText, errText);
        if (verdictText == "timed out")
            return Build(SandboxVerdict.TimedOut, "timed out", exitCode, outText, errText);
        if (verdictText is not null && verdictText.StartsWith("failed: ", StringComparison.Ordinal) && exitCode == 0)
            return Build(SandboxVerdict.Failed, verdictText, exitCode, outText, errText);
        return Build(SandboxVerdict.Crashed, "crashed: " + CrashReason(exitCode!.Value, errText.Text), exitCode, outText, errText);

        SandboxResult Build(SandboxVerdict verdict, string result, int? code, BoundedCapture.Captured o, BoundedCapture.Captured e) =>
            new(verdict, result, code, o.Text, e.Text, o.Truncated || e.Truncated, seconds, Isolation);
    }

    static string CrashReason(int exitCode, string stderr)
    {
        var how = exitCode > 128 ? $"killed by signal {exitCode - 128}" : $"exit code {exitCode} without a verdict";
        var last = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return last is null ? how : $"{how} ({(last.Length > 200 ? last[..200] : last)})";
    }

    static string? ReadVerdict(string path)
    {
        if (!File.Exists(path)) return null;
        using var stream = File.OpenRead(path);
        var buffer = new byte[64 << 10];
        var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    IEnumerable<string> BubblewrapArguments(string jobDir)
    {
        var args = new List<string>
        {
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
            "--clearenv", "--ro-bind", "/usr", "/usr",
        };
        foreach (var dir in new[] { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives" })
            args.AddRange(["--ro-bind-try", dir, dir]);
        foreach (var prefix in _python.Prefixes.Where(p => !p.StartsWith("/usr/", StringComparison.Ordinal)))
        {
            // Parents re-created world-searchable, so the dropped uid can reach e.g. /root/.pyenv.
            var parents = new List<string>();
            for (var parent = Path.GetDirectoryName(prefix); parent is not null && parent != "/"; parent = Path.GetDirectoryName(parent))
                parents.Insert(0, parent);
            foreach (var parent in parents) args.AddRange(["--perms", "0755", "--dir", parent]);
            args.AddRange(["--ro-bind", prefix, prefix]);
        }
        args.AddRange(["--proc", "/proc", "--dev", "/dev", "--size", (64L << 20).ToString(), "--tmpfs", "/tmp",
            "--bind", jobDir, "/sandbox", "--chdir", "/sandbox"]);
        return args;
    }

    static IEnumerable<(string, string)> MinimalEnvironment(string home) =>
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"), ("HOME", home), ("LANG", "C.UTF-8"),
        ("PYTHONIOENCODING", "utf-8"), ("PYTHONDONTWRITEBYTECODE", "1"), ("OMP_NUM_THREADS", "1"),
    ];

    /// <summary>
    /// RLIMIT_NPROC counts every process of the uid. Under the run's own uid that is just the
    /// run; under a shared user the limit must sit above what the user already runs.
    /// </summary>
    int ProcessLimit(int uid) => uid >= 0 ? _options.Processes : CountTasksOfCurrentUser() + _options.Processes;

    static int CountTasksOfCurrentUser()
    {
        var me = ReadStatusField("/proc/self/status", "Uid:");
        var tasks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!char.IsAsciiDigit(Path.GetFileName(dir)[0])) continue;
            var status = Path.Combine(dir, "status");
            if (ReadStatusField(status, "Uid:") == me && int.TryParse(ReadStatusField(status, "Threads:"), out var threads))
                tasks += threads;
        }
        return tasks;
    }

    static string? ReadStatusField(string path, string field)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal))?[field.Length..]
                .Trim().Split('\t', ' ')[0];
        }
        catch (IOException) { return null; } // the process ended while we looked
        catch (UnauthorizedAccessException) { return null; }
    }

    void KillEverything(Process process, int uid)
    {
        if (_bwrap is null)
        {
            // The preamble made the program leader of its own process group (pgid = its pid).
            Kill(-process.Id, 9);
        }
        // An exited bubblewrap took its PID namespace, and so every descendant, with it.
        if (_bwrap is not null && process.HasExited) return;
        try { process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already gone
        process.WaitForExit(2000);
        // Under bubblewrap the PID namespace dies with its first process, taking every descendant.
        // Without it, anything that left the process group still runs under the run's uid: sweep it.
        if (_bwrap is null && uid >= 0) SweepUid(uid);
    }

    void SweepUid(int uid)
    {
        var start = new ProcessStartInfo(_python.Executable) { UseShellExecute = false };
        foreach (var arg in new[] { "-I", "-c", $"import os; os.setgid({uid}); os.setuid({uid}); os.kill(-1, 9)" })
            start.ArgumentList.Add(arg);
        using var sweeper = Process.Start(start);
        sweeper?.WaitForExit(5000);
    }

    /// <summary>
    /// Exclusive use of one uid while a program runs, claimed through a lock file so that
    /// concurrent harnesses on the machine never share a uid (RLIMIT_NPROC counts per uid, and
    /// the fallback's sweep kills everything of the uid).
    /// </summary>
    sealed class UidClaim : IDisposable
    {
        static readonly string LockDir = Path.Combine(Path.GetTempPath(), "gpt4sharp-sandbox-uids");
        readonly FileStream _lock;

        UidClaim(int uid, FileStream fileLock) => (Uid, _lock) = (uid, fileLock);

        public int Uid { get; }

        public static UidClaim Acquire()
        {
            Directory.CreateDirectory(LockDir);
            for (var uid = FirstUid; uid < FirstUid + UidCount; uid++)
            {
                try { return new UidClaim(uid, new FileStream(Path.Combine(LockDir, $"{uid}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
                catch (IOException) { } // held by another run
            }
            throw new UserError($"All {UidCount} sandbox uids from {FirstUid} are in use; run fewer sandboxed evaluations at once.");
        }

        public void Dispose() => _lock.Dispose();
    }

    internal static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    // Plain DllImport: LibraryImport would need unsafe code enabled for the whole library.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    /// <summary>Where the interpreter really lives (PATH entries are often shims), found once per interpreter.</summary>
    sealed record PythonInfo(string Executable, string[] Prefixes, bool ReachableByOthers)
    {
        static readonly ConcurrentDictionary<string, PythonInfo> Cache = new();

        public static PythonInfo Resolve(string? requested)
        {
            var path = requested ?? FindOnPath("python3")
                ?? throw new UserError("python3 was not found on PATH; install it (Debian: apt-get install python3) or pass the interpreter with --python.");
            if (!File.Exists(path))
                throw new UserError($"The Python interpreter '{path}' does not exist; pass an existing one with --python or install python3.");
            return Cache.GetOrAdd(Path.GetFullPath(path), Probe);
        }

        static PythonInfo Probe(string path)
        {
            var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "-c", "import sys; print(sys.executable); print(sys.base_prefix); print(sys.prefix)" })
                start.ArgumentList.Add(arg);
            using var probe = Process.Start(start)!;
            var lines = probe.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            probe.WaitForExit();
            if (probe.ExitCode != 0 || lines.Length < 3)
                throw new UserError($"'{path}' did not run as a Python interpreter; install python3 or pass a working one with --python.");
            var executable = Path.GetFullPath(lines[0]);
            var prefixes = new[] { lines[1], lines[2] }.Select(Path.GetFullPath).Distinct().ToArray();
            return new PythonInfo(executable, prefixes, prefixes.Append(executable).All(AllParentsSearchable));
        }

        static bool AllParentsSearchable(string path)
        {
            if (OperatingSystem.IsWindows()) return false;
            for (var dir = Path.GetDirectoryName(path); dir is not null; dir = Path.GetDirectoryName(dir))
                if (!File.GetUnixFileMode(dir).HasFlag(UnixFileMode.OtherExecute)) return false;
            return true;
        }
    }
}
