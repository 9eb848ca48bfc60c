using System.CommandLine;
using Gpt4Sharp.Runtime;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

public static class InfoCommands
{
    public static Command Create()
    {
        var command = new Command("doctor", "Checks that TorchSharp loads and computes, and shows versions and devices.");
        command.SetHandler((_, _) =>
        {
            Cli.RequireTorch();
            var info = Gpt4Sharp.Runs.RunInfo.Capture("doctor", 0, null);
            var table = new Table().AddColumns("what", "value");
            table.AddRow("TorchSharp", info.TorchSharpVersion);
            table.AddRow(".NET", info.DotnetVersion);
            table.AddRow("OS", info.Os);
            table.AddRow("CPU", Markup.Escape(info.Cpu ?? "unknown"));
            table.AddRow("CPU cores", info.ProcessorCount.ToString());
            table.AddRow("CPU vector extensions", info.CpuVectorExtensions is [_, ..] found ? string.Join(", ", found) : "none");
            table.AddRow("numerics environment", info.NumericsEnvironment is { Count: > 0 } env
                ? Markup.Escape(string.Join(", ", env.Select(kv => $"{kv.Key}={kv.Value}"))) : "none set");
            table.AddRow("CUDA", TorchSharp.torch.cuda.is_available() ? "available" : "not available");
            table.AddRow("bf16 CPU", TorchRuntime.CpuHasBf16() ? "yes" : "no");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
