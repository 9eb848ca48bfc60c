using Gpt4Sharp.Bench;

// Benchmarks print ratios measured in one process; CI never runs them.
// Usage: dotnet run -c Release --project bench/Gpt4Sharp.Bench -- NAME [args]
var benchmarks = new Dictionary<string, (string About, Func<string[], int> Run)>
{
    ["matmul"] = ("fp32 and bf16 matmul peak of this machine", MatmulPeak.Run),
    ["sandbox"] = ("sandboxed Python samples/s, 1 vs 2 workers, bubblewrap vs plain", SandboxThroughput.Run),
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var bench))
{
    Console.WriteLine("Benchmarks:");
    foreach (var (name, (about, _)) in benchmarks) Console.WriteLine($"  {name,-14} {about}");
    return args.Length == 0 ? 0 : 2;
}
return bench.Run(args[1..]);
