using System.Text.Json;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.Hallucination;

/// <summary>Size and training settings of the detector.</summary>
public sealed record DetectorConfig
{
    public int Buckets { get; init; } = 8192;
    public int Dim { get; init; } = 64;
    public int Heads { get; init; } = 4;
    public int Layers { get; init; } = 2;
    public int MaxLength { get; init; } = 192;
    public int Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Weight of the hallucinated class in the loss (positives are a few words per answer).</summary>
    public double PositiveWeight { get; init; } = 1.0;
    public long Seed { get; init; } = 1234;

    public DetectorConfig Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid detector setting: {what}."); }
        Require(Buckets > 0 && Dim > 0 && Layers > 0 && MaxLength >= 16, "buckets, dim and layers must be positive and max length at least 16");
        Require(Heads > 0 && Dim % Heads == 0, $"dim ({Dim}) must be a multiple of heads ({Heads})");
        Require(Steps >= 0 && BatchSize > 0, "steps must be 0 or more and batch size positive");
        Require(LearningRate > 0 && PositiveWeight > 0, "learning rate and positive weight must be positive");
        return this;
    }
}

/// <summary>Token-level precision, recall and F1 of the hallucinated class.</summary>
public sealed record DetectorScores(double Precision, double Recall, double F1, int Tokens, int Positives);

/// <summary>Progress of detector training.</summary>
public readonly record struct DetectorProgress(int Step, int Steps, double Loss);

/// <summary>
/// Token-level hallucination detector (Zhou et al. 2020): the reference passage and the answer
/// are read together, [CLS] reference [SEP] answer, by a small bidirectional Transformer
/// encoder (TorchSharp's nn.TransformerEncoder, no causal mask) with word, position and segment
/// embeddings; each answer word is classified as grounded or hallucinated. The segment embedding also marks
/// answer words that occur anywhere in the reference (a lexical-overlap feature, as copy-aware
/// taggers use): it does not decide alone, because a wrong value may appear in the reference about
/// another entity, but it lets a model this small learn the task in a few hundred steps on a CPU.
/// </summary>
public sealed class HallucinationDetector : IDisposable
{
    const string WeightsFile = "detector.dat", ConfigFile = "detector.json";

    readonly Net _net;
    public DetectorConfig Config { get; }

    public HallucinationDetector(DetectorConfig config)
    {
        TorchRuntime.EnsureLoaded();
        Config = config.Validate();
        TorchRuntime.Seed(config.Seed);
        _net = new Net(config);
    }

    /// <summary>Trains on <paramref name="examples"/>; returns the mean loss of the last tenth of the steps.</summary>
    public double Train(IReadOnlyList<DetectorExample> examples, IProgress<DetectorProgress>? progress = null, CancellationToken cancel = default)
    {
        if (examples.Count == 0) throw new UserError("The detector needs at least one training example.");
        var rng = new Random((int)Config.Seed); // batch order only; seeded so runs repeat
        using var optimizer = optim.AdamW(_net.parameters(), lr: Config.LearningRate, weight_decay: 0.01);
        using var weight = tensor(new[] { 1.0f, (float)Config.PositiveWeight });
        var losses = new List<double>();
        _net.train();
        for (int step = 0; step < Config.Steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, Config.BatchSize).Select(_ => examples[rng.Next(examples.Count)]).ToList();
            var (ids, segments, labels) = Encode(batch);
            var logits = _net.call(ids, segments);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1), weight: weight, ignore_index: -100);
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(_net.parameters(), 1.0);
            // Linear warm-up over the first 10% of steps, then linear decay to zero.
            double warm = Math.Max(1, Config.Steps / 10);
            double lr = Config.LearningRate * Math.Min((step + 1) / warm, (Config.Steps - step) / (Config.Steps - warm + 1));
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            optimizer.step();
            losses.Add(loss.item<float>());
            progress?.Report(new DetectorProgress(step + 1, Config.Steps, losses[^1]));
        }
        _net.eval();
        return losses.Count == 0 ? double.NaN : losses.Skip(losses.Count * 9 / 10).Average();
    }

    /// <summary>The answer's hallucinated spans (adjacent flagged words merged), in order.</summary>
    public IReadOnlyList<TextSpan> Detect(string reference, string answer) => DetectBatch([(reference, answer)])[0];

    public IReadOnlyList<IReadOnlyList<TextSpan>> DetectBatch(IReadOnlyList<(string Reference, string Answer)> pairs)
    {
        var result = new List<IReadOnlyList<TextSpan>>();
        foreach (var chunk in pairs.Chunk(64))
        {
            var flags = Predict(chunk.Select(p => new DetectorExample(p.Reference, p.Answer, [])).ToList());
            for (int i = 0; i < chunk.Length; i++) result.Add(Merge(chunk[i].Answer, flags[i]));
        }
        return result;
    }

    /// <summary>Token-level precision/recall/F1 of the hallucinated class on labelled examples.</summary>
    public DetectorScores Evaluate(IReadOnlyList<DetectorExample> examples)
    {
        int tp = 0, fp = 0, fn = 0, tokens = 0;
        foreach (var chunk in examples.Chunk(64))
        {
            var flags = Predict(chunk);
            for (int i = 0; i < chunk.Length; i++)
                foreach (var (word, predicted) in flags[i])
                {
                    bool truth = chunk[i].Hallucinated.Any(s => s.Overlaps(word.Start, word.End));
                    tokens++;
                    if (predicted && truth) tp++;
                    else if (predicted) fp++;
                    else if (truth) fn++;
                }
        }
        double p = tp + fp == 0 ? 0 : (double)tp / (tp + fp), r = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        return new DetectorScores(p, r, p + r == 0 ? 0 : 2 * p * r / (p + r), tokens, tp + fn);
    }

    /// <summary>Per answer: each answer word that fitted in the input, with whether it is flagged.</summary>
    List<List<(WordToken Word, bool Flagged)>> Predict(IReadOnlyList<DetectorExample> batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _net.eval();
        var (ids, segments, _) = Encode(batch);
        var predicted = _net.call(ids, segments).argmax(-1).cpu();
        var result = new List<List<(WordToken, bool)>>();
        for (int i = 0; i < batch.Count; i++)
        {
            var (answerStart, words) = Layout(batch[i]);
            var row = predicted[i].data<long>().ToArray();
            result.Add(words.Select((w, k) => (w, row[answerStart + k] == 1)).ToList());
        }
        return result;
    }

    /// <summary>Where the answer begins in the input and which answer words fit (the reference is cut first when too long).</summary>
    (int AnswerStart, IReadOnlyList<WordToken> AnswerWords) Layout(DetectorExample e)
    {
        var answer = DetectorTokens.Split(e.Answer);
        int answerRoom = Math.Min(answer.Count, Config.MaxLength / 2);
        int referenceRoom = Math.Min(DetectorTokens.Split(e.Reference).Count, Config.MaxLength - 2 - answerRoom);
        return (2 + referenceRoom, answer.Take(Config.MaxLength - 2 - referenceRoom).ToList());
    }

    (Tensor Ids, Tensor Segments, Tensor Labels) Encode(IReadOnlyList<DetectorExample> batch)
    {
        int length = 0;
        var rows = new List<(long[] Ids, long[] Segments, long[] Labels)>();
        foreach (var e in batch)
        {
            var (answerStart, words) = Layout(e);
            var reference = DetectorTokens.Split(e.Reference).Take(answerStart - 2);
            var ids = new List<long> { DetectorTokens.Cls };
            ids.AddRange(reference.Select(w => (long)DetectorTokens.Id(w.Text, Config.Buckets)));
            ids.Add(DetectorTokens.Sep);
            ids.AddRange(words.Select(w => (long)DetectorTokens.Id(w.Text, Config.Buckets)));
            // Segment 0: reference; 1: answer word absent from the reference; 2: answer word present in it.
            var referenceWords = reference.Select(w => w.Text.ToLowerInvariant()).ToHashSet();
            var segments = Enumerable.Repeat(0L, answerStart)
                .Concat(words.Select(w => referenceWords.Contains(w.Text.ToLowerInvariant()) ? 2L : 1L)).ToArray();
            var labels = Enumerable.Repeat(-100L, answerStart)
                .Concat(words.Select(w => e.Hallucinated.Any(s => s.Overlaps(w.Start, w.End)) ? 1L : 0L)).ToArray();
            rows.Add((ids.ToArray(), segments, labels));
            length = Math.Max(length, ids.Count);
        }
        long[] Pad(long[] row, long fill) => [.. row, .. Enumerable.Repeat(fill, length - row.Length)];
        Tensor Stack(Func<(long[] Ids, long[] Segments, long[] Labels), long[]> pick, long fill) =>
            tensor(rows.SelectMany(r => Pad(pick(r), fill)).ToArray(), [rows.Count, length]).to(_net.Device);
        return (Stack(r => r.Ids, DetectorTokens.Pad), Stack(r => r.Segments, 0), Stack(r => r.Labels, -100));
    }

    static List<TextSpan> Merge(string answer, List<(WordToken Word, bool Flagged)> words)
    {
        var spans = new List<TextSpan>();
        foreach (var (word, flagged) in words)
        {
            if (!flagged) continue;
            // Words separated only by spaces join one span ("Kalo Mira").
            if (spans.Count > 0 && string.IsNullOrWhiteSpace(answer[spans[^1].End..word.Start]))
                spans[^1] = new TextSpan(spans[^1].Start, word.End - spans[^1].Start);
            else spans.Add(new TextSpan(word.Start, word.Length));
        }
        return spans;
    }

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        _net.save(Path.Combine(directory, WeightsFile));
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), JsonSerializer.Serialize(Config, new JsonSerializerOptions { WriteIndented = true }));
    }

    public static HallucinationDetector Load(string directory)
    {
        var configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath))
            throw new UserError($"{directory} holds no hallucination detector; train one with `gpt4sharp hallucination train --out {directory}`.");
        var config = JsonSerializer.Deserialize<DetectorConfig>(File.ReadAllText(configPath))!;
        var detector = new HallucinationDetector(config);
        detector._net.load(Path.Combine(directory, WeightsFile));
        detector._net.eval();
        return detector;
    }

    public void Dispose() => _net.Dispose();

    sealed class Net : nn.Module<Tensor, Tensor, Tensor>
    {
        readonly Embedding words, positions, segments;
        readonly TransformerEncoder encoder;
        readonly LayerNorm norm;
        readonly Linear head;

        public Device Device => words.weight!.device;

        public Net(DetectorConfig c) : base("HallucinationDetector")
        {
            words = nn.Embedding(DetectorTokens.Reserved + c.Buckets, c.Dim);
            positions = nn.Embedding(c.MaxLength, c.Dim);
            segments = nn.Embedding(3, c.Dim);
            encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(c.Dim, c.Heads, 4 * c.Dim, dropout: 0.1), c.Layers);
            norm = nn.LayerNorm(c.Dim);
            head = nn.Linear(c.Dim, 2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids, Tensor segment)
        {
            var position = arange(ids.shape[1], device: ids.device).unsqueeze(0);
            var x = words.call(ids) + positions.call(position) + segments.call(segment);
            var padding = ids.eq(DetectorTokens.Pad);
            // nn.TransformerEncoder takes (sequence, batch, dim).
            var h = encoder.call(x.transpose(0, 1), null, padding).transpose(0, 1);
            return head.call(norm.call(h));
        }
    }
}
