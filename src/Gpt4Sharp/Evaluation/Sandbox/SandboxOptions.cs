namespace Gpt4Sharp.Evaluation.Sandbox;

/// <summary>Limits for one sandboxed Python run. Defaults suit HumanEval-style tests.</summary>
public sealed record SandboxOptions
{
    /// <summary>Timer around the program, as in the public harness (3 s there): past it the verdict is "timed out".</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Extra wall time for interpreter start-up and for programs that ignore the timer; then the run is killed.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Address-space limit (RLIMIT_AS): a larger allocation raises MemoryError.</summary>
    public long MemoryBytes { get; init; } = 1L << 31;

    /// <summary>Largest file the program may write (RLIMIT_FSIZE).</summary>
    public long FileSizeBytes { get; init; } = 16L << 20;

    /// <summary>Open file descriptors (RLIMIT_NOFILE).</summary>
    public int OpenFiles { get; init; } = 64;

    /// <summary>Processes and threads (RLIMIT_NPROC), enforced under the run's own uid.</summary>
    public int Processes { get; init; } = 32;

    /// <summary>Bytes kept of each of stdout and stderr; the rest is read and discarded.</summary>
    public int OutputCapBytes { get; init; } = 64 << 10;

    /// <summary>null: use bubblewrap when installed; false: never (plain process with limits only).</summary>
    public bool? UseBubblewrap { get; init; }

    /// <summary>Python interpreter to run; null means python3 on PATH.</summary>
    public string? Python { get; init; }

    /// <summary>CPU seconds (RLIMIT_CPU): just past the wall limit, so the wall clock normally decides.</summary>
    public int CpuSeconds => (int)Math.Ceiling((Timeout + Grace).TotalSeconds) + 1;
}
