using System.Diagnostics;
using Gpt4Sharp.Evaluation.Sandbox;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Sandbox cost: samples per second with 1 and 2 workers, and the per-sample overhead of
/// bubblewrap over a plain process with the same limits. Usage: sandbox [samples]
/// </summary>
public static class SandboxThroughput
{
    // A HumanEval-sized sample: define, test, pass.
    const string Program = "def add(a, b):\n    return a + b\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n\ncheck(add)\n";

    public static int Run(string[] args)
    {
        var samples = args.Length > 0 ? int.Parse(args[0]) : 40;
        var plain = new PythonSandbox(new SandboxOptions { UseBubblewrap = false });
        var sandboxes = new List<(string Name, PythonSandbox Sandbox)> { ("plain", plain) };
        if (PythonSandbox.BubblewrapInstalled) sandboxes.Insert(0, ("bubblewrap", new PythonSandbox()));
        else Console.WriteLine("bubblewrap not installed: measuring the plain process only");

        var perSample = new Dictionary<string, double>();
        foreach (var (name, sandbox) in sandboxes)
            foreach (var workers in new[] { 1, 2 })
            {
                sandbox.RunManyAsync([Program], 1, humanEvalCompatible: true).GetAwaiter().GetResult(); // warm-up
                var clock = Stopwatch.StartNew();
                var results = sandbox.RunManyAsync(Enumerable.Repeat(Program, samples).ToList(), workers, humanEvalCompatible: true)
                    .GetAwaiter().GetResult();
                var seconds = clock.Elapsed.TotalSeconds;
                var bad = results.Where(r => !r.Passed).ToList();
                foreach (var r in bad.Take(3)) Console.WriteLine($"  unexpected: {r.Result} {r.Stderr}");
                Console.WriteLine($"{name,-10} workers={workers}: {samples / seconds,6:F1} samples/s ({1000 * seconds / samples:F1} ms/sample wall){(bad.Count > 0 ? $", {bad.Count} not passed" : "")}");
                if (workers == 1) perSample[name] = 1000 * seconds / samples;
            }
        if (perSample.TryGetValue("bubblewrap", out var bwrap))
            Console.WriteLine($"bubblewrap overhead: {bwrap - perSample["plain"]:F1} ms/sample ({bwrap / perSample["plain"]:F2}x plain)");
        return 0;
    }
}
