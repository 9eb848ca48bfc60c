using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>Everything <c>gpt4sharp clip train</c> needs; defaults train in a few minutes on 2 cores.</summary>
public sealed record ClipTrainSettings
{
    public string OutDirectory { get; init; } = "runs/clip";
    public ClipConfig Model { get; init; } = new();
    /// <summary>Picture families whose captions pair with their images.</summary>
    public IReadOnlyList<string> Families { get; init; } = CurriculumImages.Families;
    public int TrainImages { get; init; } = 6000;
    /// <summary>1,500: at 600 steps the encoder told shapes apart on only 56 % of the training split's one-shape pictures, at 1,200 on 94 %.</summary>
    public int Steps { get; init; } = 1500;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 2e-3;
    public int WarmupSteps { get; init; } = 30;
    public double WeightDecay { get; init; } = 0.05;
    public long Seed { get; init; } = 1;
    /// <summary>Vocabulary of the BPE trained on the curriculum's picture texts when <see cref="TokenizerName"/> is null.</summary>
    public int TokenizerVocab { get; init; } = 640;
    public string? TokenizerName { get; init; }
    /// <summary>Held-out pictures per zero-shot task in the final evaluation.</summary>
    public int EvalImages { get; init; } = 200;
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// A smoke-test run (seconds on 2 cores): tiny towers, a few steps, a few held-out pictures.
    /// It proves that training, saving, zero-shot evaluation and a following
    /// <see cref="VlmTrainSettings.Smoke"/> run work end to end; its accuracies mean nothing.
    /// </summary>
    public static ClipTrainSettings Smoke(string outDirectory) => new()
    {
        OutDirectory = outDirectory, TrainImages = 128, Steps = 12, BatchSize = 32, WarmupSteps = 3, TokenizerVocab = 320, EvalImages = 8,
        Model = new ClipConfig
        {
            Vision = new VisionConfig { Width = 32, Layers = 1, Heads = 2 },
            Text = new TextEncoderConfig { Width = 32, Layers = 1, Heads = 2 },
            EmbedDim = 32,
        },
    };
}

public sealed record ClipProgress(int Step, int Steps, double Loss, double LearningRate, double ImagesPerSecond, double Temperature, TimeSpan Eta);

public sealed record ClipTrainResult(
    string OutDirectory, string CheckpointDirectory, long Parameters, int Steps, int TrainImages, double FirstLoss, double FinalLoss,
    double TrainSeconds, double ImagesPerSecond, double Temperature, IReadOnlyList<ZeroShotResult> ZeroShot, bool Completed);

/// <summary>
/// CLIP training on the curriculum's pictures and captions: in-batch negatives, AdamW with
/// warmup + cosine decay, a checkpoint (safetensors + config.json + tokenizer) at the end, then
/// zero-shot evaluation on held-out pictures written to results.json.
/// </summary>
public static class ClipTraining
{
    public static ClipTrainResult Run(ClipTrainSettings s, IProgress<ClipProgress>? progress, Action<string>? log, CancellationToken cancel)
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.Seed(s.Seed);
        if (s.Steps < 1 || s.BatchSize < 2 || s.TrainImages < s.BatchSize)
            throw new UserError($"CLIP training needs at least one step and a batch of at least 2 drawn from at least as many images (got {s.Steps} steps, batch {s.BatchSize}, {s.TrainImages} images).");
        var device = TorchRuntime.ParseDevice(s.Device);
        Directory.CreateDirectory(s.OutDirectory);
        var options = new ImageOptions { Size = s.Model.Vision.ImageSize }.Validate();

        log?.Invoke($"Drawing {s.TrainImages} training pictures from {string.Join(", ", s.Families)} at {options.Size}x{options.Size}...");
        using var data = CurriculumImages.Build(s.Families, Split.Train, s.Seed, s.TrainImages, options);
        var captions = data.Items.Select(CurriculumImages.Caption).ToArray();
        var tokenizer = PictureTokenizer(s, log);
        var config = s.Model with { Text = s.Model.Text with { VocabSize = tokenizer.VocabSize }, Tokenizer = TokenizerReference(tokenizer) };
        using var model = new ClipModel(config, s.Seed);
        model.to(device);
        long parameters = model.parameters().Sum(p => p.numel());
        log?.Invoke($"CLIP model: {parameters:N0} parameters, {config.Loss} loss, batch {s.BatchSize}.");

        var decay = model.named_parameters().Where(p => p.parameter.dim() >= 2 && !p.name.Contains("embed") && !p.name.Contains("token")).Select(p => p.parameter).ToList();
        var rest = model.parameters().Except(decay, ReferenceEqualityComparer.Instance).Cast<Parameter>().ToList();
        using var optimizer = optim.AdamW([
            new AdamW.ParamGroup(decay, new AdamW.Options { LearningRate = s.LearningRate, weight_decay = s.WeightDecay, beta1 = 0.9, beta2 = 0.98 }),
            new AdamW.ParamGroup(rest, new AdamW.Options { LearningRate = s.LearningRate, weight_decay = 0, beta1 = 0.9, beta2 = 0.98 })]);

        var batches = new ShuffledBatches(data.Items.Count, s.Seed);
        var state = new TrainerState { Seed = s.Seed };
        var watch = Stopwatch.StartNew();
        double first = double.NaN, last = double.NaN;
        int step = 0;
        model.train();
        for (; step < s.Steps && !cancel.IsCancellationRequested; step++)
        {
            var idx = batches.Next(s.BatchSize);
            double lr = LearningRate(s, step);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            using (var scope = NewDisposeScope())
            {
                var images = data.Pixels.index_select(0, tensor(idx.Select(i => (long)i).ToArray())).to(device);
                using var text = TextBatch.Encode(tokenizer, [.. idx.Select(i => captions[i])], config.Text.ContextLength);
                var loss = model.Loss(model.EncodeImages(images), model.EncodeText(text));
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
                last = loss.item<float>();
            }
            if (double.IsNaN(first)) first = last;
            state.LossHistory.Add(new LossPoint(step + 1, last));
            double ips = (step + 1) * (double)s.BatchSize / watch.Elapsed.TotalSeconds;
            progress?.Report(new ClipProgress(step + 1, s.Steps, last, lr, ips, model.Temperature,
                TimeSpan.FromSeconds((s.Steps - step - 1) * watch.Elapsed.TotalSeconds / (step + 1))));
        }
        double seconds = watch.Elapsed.TotalSeconds;
        state.Step = step;
        state.TrainSeconds = seconds;
        state.TokensSeen = (long)step * s.BatchSize;
        var run = RunInfo.Capture("clip train", s.Seed, s);
        var checkpoint = new CheckpointStore(s.OutDirectory, keepLast: 1).Save(model, config, null, state, run);
        run.Write(s.OutDirectory);

        var zeroShot = new List<ZeroShotResult>();
        if (!cancel.IsCancellationRequested)
            foreach (var task in LabeledImages.CurriculumTasks)
            {
                log?.Invoke($"Zero-shot evaluation on held-out {task}...");
                using var set = LabeledImages.FromCurriculum(task, s.Seed + 1000, s.EvalImages, options);
                using var onDevice = set.To(device);
                zeroShot.Add(ZeroShot.Evaluate(model, tokenizer, onDevice));
            }
        var result = new ClipTrainResult(Path.GetFullPath(s.OutDirectory), checkpoint, parameters, step, data.Items.Count, first, last,
            seconds, step * (double)s.BatchSize / seconds, model.Temperature, zeroShot, !cancel.IsCancellationRequested);
        WriteResults(result, s, state);
        return result;
    }

    static double LearningRate(ClipTrainSettings s, int step)
    {
        if (step < s.WarmupSteps) return s.LearningRate * (step + 1) / s.WarmupSteps;
        double progress = (double)(step - s.WarmupSteps) / Math.Max(1, s.Steps - s.WarmupSteps);
        return s.LearningRate * (0.05 + 0.95 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>The given tokenizer, or a small BPE trained on the picture families' captions, questions and rationales, saved in RUN/tokenizer.</summary>
    static ITokenizer PictureTokenizer(ClipTrainSettings s, Action<string>? log)
    {
        var dir = Path.Combine(s.OutDirectory, ModelBundle.TokenizerDirectory);
        if (s.TokenizerName is { } name)
        {
            var given = Tokenizers.Load(name);
            ModelBundle.CopyTokenizer(given, s.OutDirectory);
            return given;
        }
        log?.Invoke($"Training a {s.TokenizerVocab}-token BPE on the picture families' texts...");
        int perFamily = Math.Clamp(s.TrainImages / 2, 50, 1500); // enough text for the merges a ~600-token vocabulary needs
        var texts = CurriculumImages.Families.SelectMany(f => CurriculumImages.ImageFamily(f).Generate(s.Seed, Split.Train, perFamily))
            .SelectMany(i => CurriculumImages.QuestionAnswers(i).SelectMany(q => new[] { q.Question, q.Answer, q.Rationale }).Prepend(CurriculumImages.Caption(i)))
            .Concat(LabeledImages.DefaultTemplates);
        var bpe = BpeTrainer.Train(texts, Math.Max(BpeTrainer.MinVocabSize, s.TokenizerVocab));
        bpe.Save(dir);
        return Tokenizers.Load(dir);
    }

    static string TokenizerReference(ITokenizer tokenizer) =>
        Tokenizers.TiktokenEncodings.Contains(tokenizer.Name) ? tokenizer.Name : ModelBundle.TokenizerDirectory;

    static void WriteResults(ClipTrainResult r, ClipTrainSettings s, TrainerState state)
    {
        var json = new JsonObject
        {
            ["command"] = "clip train",
            ["parameters"] = r.Parameters, ["steps"] = r.Steps, ["train_images"] = r.TrainImages, ["batch_size"] = s.BatchSize, ["loss_kind"] = s.Model.Loss,
            ["first_loss"] = r.FirstLoss, ["final_loss"] = r.FinalLoss, ["train_seconds"] = r.TrainSeconds, ["images_per_second"] = r.ImagesPerSecond,
            ["temperature"] = r.Temperature, ["checkpoint"] = r.CheckpointDirectory,
            ["zero_shot"] = new JsonArray([.. r.ZeroShot.Select(ZeroShotJson)]),
        };
        VisionReport.WriteClip(s.OutDirectory, json, r, state);
    }

    public static JsonObject ZeroShotJson(ZeroShotResult z) => new()
    {
        ["set"] = z.Name, ["images"] = z.Images, ["classes"] = z.Classes, ["top1"] = z.Top1, ["top5"] = z.Top5, ["images_per_second"] = z.ImagesPerSecond,
    };
}
