using System.CommandLine;
using Gpt4Sharp.Runtime;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>Shared plumbing for verbs: one-sentence errors, Ctrl-C as cancellation, option helpers.</summary>
public static class Cli
{
    /// <summary>Runs a verb body: a <see cref="UserError"/> prints its sentence and exits 1; Ctrl-C cancels the token.</summary>
    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, token) =>
        {
            try
            {
                return await body(parse, token);
            }
            catch (UserError e)
            {
                Error(e);
                return 1;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("[yellow]Stopped.[/]");
                return 130;
            }
        });

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
