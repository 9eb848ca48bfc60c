using System.Diagnostics;
using System.Runtime.InteropServices;
using Gpt4Sharp.Runtime;
using TorchSharp;

namespace Gpt4Sharp.Bench;

/// <summary>
/// How often TorchSharp's implicitly converted Scalars are freed mid-call (scripts/runtime-env.sh):
/// one thread runs t.mul(0.999).add_(1e-5) (each creates Scalars, add_ also its alpha) while another
/// allocates garbage to trigger collections. The same loop runs in three child processes, since both
/// settings are fixed at process start: the default gen-0 budget, the 256 MB one (scripts/runtime-env.sh),
/// and the 256 MB one with unoptimised JIT code (DOTNET_JITMinOpts=1, as test.sh runs the tests), which
/// neither inlines TorchSharp's methods nor ends an argument's life before its method returns.
/// </summary>
public static class ScalarRaceBench
{
    const string ChildFlag = "--child";

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == ChildFlag) return Child(int.Parse(args[1]));
        int seconds = args.Length > 0 ? int.Parse(args[0]) : 20;
        var defaultBudget = RunChild(seconds, gen0Size: null, minOpts: false);
        var largeBudget = RunChild(seconds, gen0Size: "0x10000000", minOpts: false);
        var unoptimised = RunChild(seconds, gen0Size: "0x10000000", minOpts: true);
        Console.WriteLine($"{"setting",-24} {"ops",12} {"failures",9} {"gen-0 GCs",10} {"failures per million ops",25}");
        foreach (var (name, r) in new[] { ("default", defaultBudget), ("256 MB gen-0", largeBudget), ("256 MB gen-0 + MinOpts", unoptimised) })
            Console.WriteLine($"{name,-24} {r.Ops,12:N0} {r.Failures,9} {r.Collections,10:N0} {1e6 * r.Failures / r.Ops,25:F2}");
        Console.WriteLine($"collections: {(double)defaultBudget.Collections / largeBudget.Collections:F1}x fewer with the 256 MB budget; " +
            $"failures per op: {FailureRatio(defaultBudget, largeBudget, "the 256 MB budget")}; " +
            $"with MinOpts too: {FailureRatio(defaultBudget, unoptimised, "MinOpts")}; ops per second with MinOpts: {(double)unoptimised.Ops / largeBudget.Ops:F2}x");
        return 0;
    }

    record Result(long Ops, long Failures, long Collections);

    static string FailureRatio(Result baseline, Result mitigated, string mitigation) =>
        mitigated.Failures == 0 ? $"none with {mitigation} ({baseline.Failures} without)"
        : $"{(double)baseline.Failures / baseline.Ops / ((double)mitigated.Failures / mitigated.Ops):F1}x fewer";

    static Result RunChild(int seconds, string? gen0Size, bool minOpts)
    {
        // This same program again: `dotnet Gpt4Sharp.Bench.dll` needs the dll path, the apphost does not.
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") start.ArgumentList.Add(typeof(ScalarRaceBench).Assembly.Location);
        foreach (var arg in new[] { "scalar-race", ChildFlag, seconds.ToString() }) start.ArgumentList.Add(arg);
        start.Environment.Remove("DOTNET_GCgen0size");
        if (gen0Size is not null) start.Environment["DOTNET_GCgen0size"] = gen0Size;
        start.Environment.Remove("DOTNET_JITMinOpts");
        if (minOpts) start.Environment["DOTNET_JITMinOpts"] = "1";
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
