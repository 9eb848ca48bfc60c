using System.CommandLine;
using System.Runtime.InteropServices;
using Gpt4Sharp.Runtime;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>Shared plumbing for verbs: one-sentence errors, Ctrl-C as cancellation, option helpers.</summary>
public static class Cli
{
    /// <summary>
    /// Runs a verb body: a <see cref="UserError"/> prints its sentence and exits 1; the first Ctrl-C (SIGINT) or
    /// SIGTERM cancels the token, so the verb can save its checkpoint and say how to continue; a second one ends
    /// the process at once.
    /// </summary>
    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, token) =>
        {
            // System.CommandLine 2.0.0 ships with no termination handler (its ProcessTerminationTimeout is null), so
            // without these registrations the first Ctrl-C killed the process before any verb could clean up.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
            using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal => RequestStop(signal, stop));
            using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal => RequestStop(signal, stop));
            try
            {
                return await body(parse, stop.Token);
            }
            catch (UserError e)
            {
                Error(e);
                return 1;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("[yellow]Stopped.[/]");
                return 130;
            }
        });

    /// <summary>The first signal asks the verb to stop; a second one is left to the default action, which ends the process.</summary>
    static void RequestStop(PosixSignalContext signal, CancellationTokenSource stop)
    {
        if (stop.IsCancellationRequested) return;
        signal.Cancel = true;
        Console.Error.WriteLine($"{signal.Signal}: stopping; training finishes its step and saves a checkpoint first (send it again to quit at once).");
        stop.Cancel();
    }

    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, int> body) =>
        command.SetHandler((p, t) => Task.FromResult(body(p, t)));

    public static void Error(UserError e) =>
        AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");

    /// <summary>Fails with one sentence when TorchSharp's native library cannot load.</summary>
    public static void RequireTorch() => TorchRuntime.EnsureLoaded();

    public static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    public static Option<T> Opt<T>(string name, string description) =>
        new(name) { Description = description };

    public static Option<T> Required<T>(string name, string description) =>
        new(name) { Description = description, Required = true };
}
