using System.Diagnostics;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// CLIP training images/s (forward + backward + AdamW on curriculum pictures and captions) and
/// zero-shot classification images/s, at 32 and 48 pixels, with one intra-op thread and with
/// the default count (on a shared, loaded machine one thread avoids OpenMP spin contention).
/// </summary>
public static class ClipBench
{
    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 15;
        TorchRuntime.EnsureLoaded();
        var dir = Path.Combine(Path.GetTempPath(), $"clip-bench-{Environment.ProcessId}");
        using (var captionSet = CurriculumImages.Build(CurriculumImages.Families, Split.Train, 1, 800, new ImageOptions { Size = 8 }))
            BpeTrainer.Train(captionSet.Items.Select(CurriculumImages.Caption), 512).Save(dir);
        var tokenizer = Tokenizers.Load(dir);
        int defaultThreads = get_num_threads();
        Console.WriteLine($"{"image",5} {"patch",5} {"width",5} {"threads",7} {"train img/s",11} {"zero-shot img/s",15}");
        foreach (var size in new[] { 32, 48 })
            foreach (var threads in new[] { 1, defaultThreads }.Distinct())
            {
                set_num_threads(threads);
                var config = new ClipConfig
                {
                    Vision = new VisionConfig { ImageSize = size, PatchSize = 8, Width = 64 },
                    Text = new TextEncoderConfig { VocabSize = tokenizer.VocabSize, ContextLength = 48, Width = 64 },
                };
                var options = new ImageOptions { Size = size };
                using var data = CurriculumImages.Build(CurriculumImages.Families, Split.Train, 1, 512, options);
                var captions = data.Items.Select(CurriculumImages.Caption).ToArray();
                using var model = new ClipModel(config);
                using var optimizer = optim.AdamW(model.parameters(), 1e-3);
                const int batch = 64;
                var watch = new Stopwatch();
                for (int step = 0; step < steps + 3; step++)
                {
                    if (step == 3) watch.Start(); // the first steps allocate and warm up
                    using var scope = NewDisposeScope();
                    int start = step * batch % (data.Items.Count - batch);
                    using var text = TextBatch.Encode(tokenizer, captions[start..(start + batch)], 48);
                    var loss = model.Loss(model.EncodeImages(data.Pixels.narrow(0, start, batch)), model.EncodeText(text));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
                double trainRate = steps * batch / watch.Elapsed.TotalSeconds;
                var labeled = new LabeledImages("bench", ["a", "b", "c"], ["{}"], data.Pixels, [.. Enumerable.Repeat(0, data.Items.Count)]);
                ZeroShot.Evaluate(model, tokenizer, labeled);
                var zeroShot = ZeroShot.Evaluate(model, tokenizer, labeled);
                Console.WriteLine($"{size,5} {8,5} {64,5} {threads,7} {trainRate,11:F0} {zeroShot.ImagesPerSecond,15:F0}");
            }
        set_num_threads(defaultThreads);
        return 0;
    }
}
