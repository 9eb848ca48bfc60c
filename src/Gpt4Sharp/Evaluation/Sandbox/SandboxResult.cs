namespace Gpt4Sharp.Evaluation.Sandbox;

public enum SandboxVerdict { Passed, Failed, TimedOut, Crashed }

/// <summary>
/// What one sandboxed run did. <see cref="Result"/> uses the public human-eval harness's
/// wording ("passed", "failed: &lt;error&gt;", "timed out"); a run that died without a verdict
/// (killed by a signal, or exited behind the harness's back) reads "crashed: &lt;why&gt;", which the
/// public harness would report as "timed out" — both are not passed.
/// </summary>
public sealed record SandboxResult(
    SandboxVerdict Verdict,
    string Result,
    int? ExitCode,
    string Stdout,
    string Stderr,
    bool OutputTruncated,
    double Seconds,
    string Isolation)
{
    public bool Passed => Verdict == SandboxVerdict.Passed;
}
