using System.Diagnostics;
using System.Runtime.InteropServices;
using Gpt4Sharp.Runtime;
using TorchSharp;

namespace Gpt4Sharp.Bench;

/// <summary>
/// How often TorchSharp's implicitly converted Scalars are freed mid-call (scripts/runtime-env.sh):
/// one thread runs t.mul(0.999).add_(1e-5) (each creates Scalars, add_ also its alpha) while another
/// allocates garbage to trigger collections. The same loop runs in two child processes, with the
/// default gen-0 budget and with the 256 MB one, since the budget is fixed at process start.
/// </summary>
public static class ScalarRaceBench
{
    const string ChildFlag = "--child";

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == ChildFlag) return Child(int.Parse(args[1]));
        int seconds = args.Length > 0 ? int.Parse(args[0]) : 20;
        var defaultBudget = RunChild(seconds, gen0Size: null);
        var largeBudget = RunChild(seconds, gen0Size: "0x10000000");
        Console.WriteLine($"{"gen-0 budget",-14} {"ops",12} {"failures",9} {"gen-0 GCs",10} {"failures per million ops",25}");
        foreach (var (name, r) in new[] { ("default", defaultBudget), ("256 MB", largeBudget) })
            Console.WriteLine($"{name,-14} {r.Ops,12:N0} {r.Failures,9} {r.Collections,10:N0} {1e6 * r.Failures / r.Ops,25:F2}");
        Console.WriteLine($"collections: {(double)defaultBudget.Collections / largeBudget.Collections:F1}x fewer with the 256 MB budget; " +
            $"failures per op: {FailureRatio(defaultBudget, largeBudget)}");
        return 0;
    }

    record Result(long Ops, long Failures, long Collections);

    static string FailureRatio(Result baseline, Result mitigated) =>
        mitigated.Failures == 0 ? $"none with the 256 MB budget ({baseline.Failures} without)"
        : $"{(double)baseline.Failures / baseline.Ops / ((double)mitigated.Failures / mitigated.Ops):F1}x fewer";

    static Result RunChild(int seconds, string? gen0Size)
    {
        // This same program again: `dotnet Gpt4Sharp.Bench.dll` needs the dll path, the apphost does not.
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ScalarRaceBench).Assembly.Location);
        foreach (var arg in new[] { "scalar-race", ChildFlag, seconds.ToString() }) start.ArgumentList.Add(arg);
        start.Environment.Remove("DOTNET_GCgen0size");
        if (gen0Size is not null) start.Environment["DOTNET_GCgen0size"] = gen0Size;
        using var child = Process.Start(start)!;
        var fields = child.StandardOutput.ReadToEnd().Trim().Split(' ').Select(long.Parse).ToArray();
        child.WaitForExit();
        return new Result(fields[0], fields[1], fields[2]);
    }

    static int Child(int seconds)
    {
        TorchRuntime.EnsureLoaded();
        var stop = Stopwatch.StartNew();
        long ops = 0, failures = 0;
        object? garbage = null;
        var allocator = new Thread(() => { while (stop.Elapsed.TotalSeconds < seconds) garbage = new byte[200]; });
        allocator.Start();
        using (var t = torch.ones(64, 64))
            while (stop.Elapsed.TotalSeconds < seconds)
            {
                try { using var r = t.mul(0.999).add_(1e-5); ops++; }
                catch (ExternalException) { failures++; }
            }
        allocator.Join();
        GC.KeepAlive(garbage);
        Console.WriteLine($"{ops} {failures} {GC.CollectionCount(0)}");
        return 0;
    }
}
