using System.Diagnostics;
using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>Everything <c>gpt4sharp vlm train</c> needs.</summary>
public sealed record VlmTrainSettings
{
    public required string ClipDirectory { get; init; }
    public string OutDirectory { get; init; } = "runs/vlm";
    public IReadOnlyList<string> Families { get; init; } = CurriculumImages.Families;
    public int TrainImages { get; init; } = 3000;
    public int Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 2e-3;
    public int WarmupSteps { get; init; } = 50;
    public int DModel { get; init; } = 128;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int ContextLength { get; init; } = 160;
    public string Projector { get; init; } = "linear";
    public int ResamplerTokens { get; init; } = 8;
    /// <summary>
    /// Fine-tune the CLIP image encoder along with the projector and decoder (its own
    /// learning rate, <see cref="EncoderLearningRate"/>); by default it stays frozen and its
    /// patch features are computed once. Contrastive training only has to tell a batch's
    /// captions apart, which keeps coarse chart features; reading a bar's exact height off
    /// the grid needs the encoder to learn it.
    /// </summary>
    public bool TrainEncoder { get; init; }
    public double EncoderLearningRate { get; init; } = 5e-4;
    /// <summary>A <c>vlm train</c> run (or checkpoint) of the same shape to start from instead of a fresh decoder: training continues with a new schedule.</summary>
    public string? InitFrom { get; init; }
    /// <summary>Held-out pictures per evaluation task after training (0 = skip).</summary>
    public int EvalItems { get; init; } = 50;
    public long Seed { get; init; } = 1;
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// A smoke-test run on top of a <see cref="ClipTrainSettings.Smoke"/> CLIP run (seconds on 2
    /// cores): a one-layer decoder, a few steps with the encoder fine-tuned, two held-out
    /// pictures per evaluation task. It exercises every stage; its scores mean nothing.
    /// </summary>
    public static VlmTrainSettings Smoke(string clipDirectory, string outDirectory) => new()
    {
        ClipDirectory = clipDirectory, OutDirectory = outDirectory, TrainImages = 32, Steps = 10, BatchSize = 8, WarmupSteps = 2,
        DModel = 32, Layers = 1, Heads = 2, ContextLength = 128, TrainEncoder = true, EvalItems = 2,
    };
}

public sealed record VlmTrainResult(string OutDirectory, string CheckpointDirectory, long TrainableParameters, int Steps, int Examples,
    double FirstLoss, double FinalLoss, double TrainSeconds, double TokensPerSecond, VlmEvalResult? Evaluation, bool Completed);

/// <summary>
/// Trains the projector and decoder on captioning, visual QA, chart QA and the two-stage
/// MM-CoT examples, with the loss on assistant tokens only. The CLIP image encoder is frozen
/// by default: its patch features are computed once up front, which keeps a CPU run to
/// minutes; with <see cref="VlmTrainSettings.TrainEncoder"/> it is fine-tuned too.
/// </summary>
public static class VlmTraining
{
    public static VlmTrainResult Run(VlmTrainSettings s, IProgress<(int Step, int Steps, double Loss, double TokensPerSecond)>? progress,
        Action<string>? log, CancellationToken cancel)
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.Seed(s.Seed);
        if (s.Steps < 1 || s.BatchSize < 1) throw new UserError($"VLM training needs at least one step and a batch of at least 1 (got {s.Steps} steps, batch {s.BatchSize}).");
        var device = TorchRuntime.ParseDevice(s.Device);
        using var clip = ClipBundle.Load(s.ClipDirectory);
        var tokenizer = clip.Tokenizer;
        Directory.CreateDirectory(s.OutDirectory);
        ModelBundle.CopyTokenizer(tokenizer, s.OutDirectory);
        var config = new VlmConfig
        {
            Vision = clip.Model.Config.Vision,
            Decoder = GptConfig.Create(tokenizer.VocabSize, s.ContextLength, s.DModel, s.Layers, s.Heads),
            Projector = s.Projector, ResamplerTokens = s.ResamplerTokens, Tokenizer = clip.Model.Config.Tokenizer,
        }.Validate();
        using var model = new VisionLanguageModel(config, s.Seed);
        using (no_grad()) model.Vision.load_state_dict(clip.Model.Vision.state_dict());
        if (s.InitFrom is { } init)
        {
            using var start = VlmBundle.Load(init);
            var (d0, d1) = (start.Model.Config.Decoder, config.Decoder);
            if ((d0.VocabSize, d0.ContextLength, d0.DModel, d0.Layers, d0.Heads, start.Model.Config.Projector, start.Model.Config.TokensPerImage, start.Model.Config.Vision)
                != (d1.VocabSize, d1.ContextLength, d1.DModel, d1.Layers, d1.Heads, config.Projector, config.TokensPerImage, config.Vision))
                throw new UserError($"{init} holds a vision-language model of another shape; give the same --d-model, --layers, --heads, --context and projector as that run.");
            using (no_grad()) model.load_state_dict(start.Model.state_dict());
            log?.Invoke($"Starting from the weights of {init}.");
        }
        foreach (var p in model.Vision.parameters()) p.requires_grad = s.TrainEncoder;
        model.to(device);

        log?.Invoke(s.TrainEncoder ? $"Drawing {s.TrainImages} training pictures (the CLIP image encoder is fine-tuned)..."
            : $"Drawing {s.TrainImages} training pictures and encoding them with the frozen CLIP image encoder...");
        using var data = CurriculumImages.Build(s.Families, Split.Train, s.Seed, s.TrainImages, clip.ImageOptions);
        // Frozen: patch features once, [N, patches, width]; fine-tuned: the pixels, encoded per batch.
        Tensor stored;
        if (s.TrainEncoder) stored = data.Pixels.to(device);
        else
            using (no_grad())
            {
                model.Vision.eval();
                stored = cat([.. Enumerable.Range(0, (data.Items.Count + 255) / 256)
                    .Select(b => model.PatchFeatures(data.Pixels.narrow(0, b * 256, Math.Min(256, data.Items.Count - b * 256)).to(device)))]);
            }
        using var _ = stored;
        var examples = data.Items.SelectMany((item, i) => VlmTasks.Examples(item, i))
            .Select(e => (Example: e, Encoding: Encode(tokenizer, config, e)))
            .Where(e => e.Encoding.Ids.Length <= config.Decoder.ContextLength + 1).ToArray();
        if (examples.Length == 0) throw new UserError($"No training example fits the context of {config.Decoder.ContextLength} tokens; raise --context.");
        var encoderParameters = s.TrainEncoder ? model.Vision.parameters().ToList() : [];
        var headParameters = model.Projector.parameters().Concat(model.Decoder.parameters()).ToList();
        var trainable = headParameters.Concat(encoderParameters).ToList();
        long trainableCount = trainable.Sum(p => p.numel());
        log?.Invoke($"{examples.Length:N0} examples (caption, QA, rationale, answer-from-rationale) from {data.Items.Count:N0} pictures; {trainableCount:N0} trainable parameters, image encoder {EncoderState(s)}.");

        var decay = headParameters.Where(p => p.dim() >= 2).ToList();
        var rest = headParameters.Except(decay, ReferenceEqualityComparer.Instance).Cast<Parameter>().ToList();
        List<AdamW.ParamGroup> groups = [
            new(decay, new AdamW.Options { LearningRate = s.LearningRate, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95 }),
            new(rest, new AdamW.Options { LearningRate = s.LearningRate, weight_decay = 0, beta1 = 0.9, beta2 = 0.95 })];
        if (s.TrainEncoder)
            groups.Add(new(encoderParameters, new AdamW.Options { LearningRate = s.EncoderLearningRate, weight_decay = 0, beta1 = 0.9, beta2 = 0.95 }));
        using var optimizer = optim.AdamW(groups);
        int placeholder = MultimodalChat.Special(tokenizer, SpecialTokens.ImagePatch);
        int pad = tokenizer.SpecialTokenId(SpecialTokens.Pad) ?? 0;

        var batches = new ShuffledBatches(examples.Length, s.Seed);
        var state = new TrainerState { Seed = s.Seed };
        var watch = Stopwatch.StartNew();
        double first = double.NaN, last = double.NaN;
        long tokens = 0;
        int step = 0;
        model.train();
        if (!s.TrainEncoder) model.Vision.eval();
        for (; step < s.Steps && !cancel.IsCancellationRequested; step++)
        {
            var batch = batches.Next(s.BatchSize).Select(i => examples[i]).ToArray();
            double scale = step < s.WarmupSteps ? (step + 1.0) / s.WarmupSteps
                : 0.05 + 0.95 * 0.5 * (1 + Math.Cos(Math.PI * (step - s.WarmupSteps) / Math.Max(1, s.Steps - s.WarmupSteps)));
            var groupRates = optimizer.ParamGroups.ToList();
            for (int g = 0; g < groupRates.Count; g++) groupRates[g].LearningRate = scale * (g < 2 ? s.LearningRate : s.EncoderLearningRate);
            using (var scope = NewDisposeScope())
            {
                int width = batch.Max(b => b.Encoding.Ids.Length) - 1;
                var inputs = new long[batch.Length * width];
                var targets = new long[batch.Length * width];
                Array.Fill(inputs, pad);
                Array.Fill(targets, -100);
                for (int r = 0; r < batch.Length; r++)
                {
                    var (ids, mask) = (batch[r].Encoding.Ids, batch[r].Encoding.AssistantMask);
                    for (int t = 0; t + 1 < ids.Length; t++)
                    {
                        inputs[r * width + t] = ids[t];
                        if (mask[t + 1]) targets[r * width + t] = ids[t + 1];
                    }
                }
                var imageIndex = tensor(batch.Select(b => (long)b.Example.Image).ToArray(), device: device);
                var features = s.TrainEncoder ? model.PatchFeatures(stored.index_select(0, imageIndex)) : stored.index_select(0, imageIndex);
                var embeddings = model.Embed(tensor(inputs, [batch.Length, width], device: device), features, placeholder);
                var loss = GptModel.Loss(model.Decoder.ForwardEmbeddings(embeddings), tensor(targets, [batch.Length, width], device: device));
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(trainable, 1.0);
                optimizer.step();
                last = loss.item<float>();
                tokens += batch.Length * width;
            }
            if (double.IsNaN(first)) first = last;
            state.LossHistory.Add(new LossPoint(step + 1, last));
            progress?.Report((step + 1, s.Steps, last, tokens / watch.Elapsed.TotalSeconds));
        }
        double seconds = watch.Elapsed.TotalSeconds;
        state.Step = step;
        state.TokensSeen = tokens;
        state.TrainSeconds = seconds;
        var run = RunInfo.Capture("vlm train", s.Seed, s);
        var checkpoint = new CheckpointStore(s.OutDirectory, keepLast: 1).Save(model, config, null, state, run);
        run.Write(s.OutDirectory);

        VlmEvalResult? evaluation = null;
        if (s.EvalItems > 0 && !cancel.IsCancellationRequested)
        {
            log?.Invoke($"Evaluating on {s.EvalItems} held-out pictures per task...");
            evaluation = VlmEvaluation.Run(model, tokenizer, s.EvalItems, s.Seed + 1000, cancel: cancel);
        }
        var result = new VlmTrainResult(Path.GetFullPath(s.OutDirectory), checkpoint, trainableCount, step, examples.Length, first, last, seconds, tokens / seconds, evaluation, !cancel.IsCancellationRequested);
        WriteResults(result, s, state);
        return result;
    }

    /// <summary>"frozen" or "fine-tuned", for logs and results.json.</summary>
    public static string EncoderState(VlmTrainSettings s) => s.TrainEncoder ? "fine-tuned" : "frozen";

    /// <summary>An example's ids and loss mask: the picture's span after <c>&lt;|user|&gt;</c>, loss on the assistant tokens.</summary>
    public static MultimodalEncoding Encode(ITokenizer tokenizer, VlmConfig config, VlmExample e) =>
        MultimodalChat.Encode(tokenizer, [new MultimodalMessage("user", e.User, [empty(0)]), new MultimodalMessage("assistant", e.Target)], config.TokensPerImage);

    static void WriteResults(VlmTrainResult r, VlmTrainSettings s, TrainerState state)
    {
        var json = new JsonObject
        {
            ["command"] = "vlm train",
            ["clip"] = Path.GetFullPath(s.ClipDirectory), ["projector"] = s.Projector, ["image_encoder"] = EncoderState(s),
            ["trainable_parameters"] = r.TrainableParameters, ["steps"] = r.Steps, ["examples"] = r.Examples, ["batch_size"] = s.BatchSize,
            ["first_loss"] = r.FirstLoss, ["final_loss"] = r.FinalLoss, ["train_seconds"] = r.TrainSeconds, ["tokens_per_second"] = r.TokensPerSecond,
            ["checkpoint"] = r.CheckpointDirectory,
            ["evaluation"] = r.Evaluation?.ToJson(),
        };
        VisionReport.WriteVlm(s.OutDirectory, json, r, state);
    }
}
