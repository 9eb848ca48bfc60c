using System.Diagnostics;
using System.Text;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Images;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Curriculum generation speed: text items (made and serialised to JSONL bytes, spread over
/// every text family) and chart PNGs (drawn, encoded and written), in parallel over all
/// cores. Targets: 1M text items and 10k charts each under a minute on 2 cores.
/// Usage: curriculum [textItems] [charts]
/// </summary>
public static class CurriculumBench
{
    public static int Run(string[] args)
    {
        var textItems = args.Length > 0 ? int.Parse(args[0]) : 1_000_000;
        var charts = args.Length > 1 ? int.Parse(args[1]) : 10_000;
        var text = CurriculumRegistry.All.Where(f => f is not IImageFamily).ToArray();
        Console.WriteLine($"cores: {Environment.ProcessorCount}");

        // Warm-up: JIT, the fictional world and the tokenizer-free paths.
        foreach (var f in text) f.Make(0, Split.Train, 0);

        Console.WriteLine("per family, one thread, 20,000 train items each:");
        foreach (var f in text)
        {
            var sw = Stopwatch.StartNew();
            long bytes = 0;
            for (var i = 0; i < 20_000; i++) bytes += Encoding.UTF8.GetByteCount(CurriculumJson.ToLine(f.Make(1, Split.Train, i)));
            Console.WriteLine($"  {f.Name,-11} {20_000 / sw.Elapsed.TotalSeconds,10:N0} items/s  {bytes / 20_000.0,6:F0} bytes/item");
        }

        var total = Stopwatch.StartNew();
        long allBytes = 0;
        Parallel.For(0, textItems, () => 0L, (i, _, local) =>
        {
            var family = text[i % text.Length];
            return local + Encoding.UTF8.GetByteCount(CurriculumJson.ToLine(family.Make(1, Split.Train, i / text.Length)));
        }, local => Interlocked.Add(ref allBytes, local));
        var textSeconds = total.Elapsed.TotalSeconds;
        Console.WriteLine($"text: {textItems:N0} items ({allBytes / 1e6:F0} MB JSONL) in {textSeconds:F1} s = {textItems / textSeconds:N0} items/s (target < 60 s)");

        var dir = Path.Combine(Path.GetTempPath(), $"g4s-chartbench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var chartFamily = new ChartFamily();
        total.Restart();
        long pngBytes = 0;
        Parallel.For(0, charts, () => 0L, (i, _, local) =>
        {
            var item = chartFamily.Make(1, Split.Train, i);
            var png = chartFamily.RenderPng(item);
            File.WriteAllBytes(Path.Combine(dir, $"{i}.png"), png);
            return local + png.Length;
        }, local => Interlocked.Add(ref pngBytes, local));
        var chartSeconds = total.Elapsed.TotalSeconds;
        Directory.Delete(dir, recursive: true);
        Console.WriteLine($"charts: {charts:N0} PNGs ({pngBytes / charts} bytes each) in {chartSeconds:F1} s = {charts / chartSeconds:N0} images/s (target < 60 s)");
        return 0;
    }
}
