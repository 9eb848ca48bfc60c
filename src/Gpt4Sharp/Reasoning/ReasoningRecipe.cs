using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Data;
using Gpt4Sharp.Model;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Reasoning;

/// <summary>
/// The small model the reasoning demo and the emergence sweep train: shape, corpus, and the
/// lengths of its pretraining and supervised fine-tuning.
/// </summary>
public sealed record ReasoningModelSettings
{
    public GptConfig Model { get; init; } = new() { ContextLength = 320, DModel = 128, Layers = 3, Heads = 4, KvHeads = 4 };
    /// <summary>The curriculum family the model learns to reason on (pretraining, fine-tuning, every measurement).</summary>
    public string Family { get; init; } = ReasoningRecipe.Family;
    public int VocabSize { get; init; } = 512;
    /// <summary>Pretraining documents drawn from <see cref="ReasoningRecipe.PretrainMixture"/>.</summary>
    public int CorpusDocuments { get; init; } = 40_000;
    /// <summary>
    /// Share of the family's pretraining items that come with a solution (worked and direct in
    /// turn); the others are the question alone, unlabelled text. Below 1 it is the regime of
    /// Huang et al. 2022, where questions are plentiful and solved examples are few.
    /// </summary>
    public double LabelledFraction { get; init; } = 1.0;
    public TrainConfig Pretrain { get; init; } = new() { Steps = 1000, BatchSize = 16, SequenceLength = 128, LearningRate = 3e-3, WarmupSteps = 40, EvalEvery = 250, CheckpointEvery = 0 };
    /// <summary>Fine-tuning conversations, one training item of the family each, spread over the four prompt formats.</summary>
    public int SftExamples { get; init; } = 8_000;
    public TrainConfig Sft { get; init; } = new() { Steps = 300, BatchSize = 16, SequenceLength = 320, LearningRate = 1e-3, WarmupSteps = 30, EvalEvery = 150, CheckpointEvery = 0, WeightDecay = 0 };
    /// <summary>Exemplars per few-shot prompt and the largest step count an exemplar may have (short ones fit the context).</summary>
    public int Shots { get; init; } = 1;
    public int ExemplarMaxSteps { get; init; } = 2;
    public string Device { get; init; } = "cpu";
    public long Seed { get; init; } = 1;
}

/// <summary>
/// Recipe for a model that has learned a multi-step family (by default <see cref="Family"/>) with
/// rationales: a byte-level BPE and token shards from a mixture rich in that family, stage-1 pretraining
/// (<see cref="Pretraining"/>), then supervised fine-tuning (<see cref="FineTuning"/>) on chat
/// examples in all four prompt formats, so the same model can be asked for direct answers or
/// for its reasoning. Each phase writes its own run directory under the output directory.
/// </summary>
public static class ReasoningRecipe
{
    /// <summary>
    /// The default reasoning family: one-digit chains whose steps that cross ten may be worked
    /// directly or through ten, so a problem has several correct derivations (self-consistency
    /// needs that), while single steps stay facts a small model learns within minutes.
    /// </summary>
    public const string Family = "ten-chains";

    /// <summary>Mostly the reasoning family (all step counts), some world knowledge and dialogue for ordinary text.</summary>
    public static Mixture PretrainMixture(long seed, int count, string family = Family) => new()
    {
        Seed = seed, Count = count,
        Weights = new() { [family] = 8, ["knowledge"] = 1, ["dialogue"] = 0.5 },
        MaxDifficulty = new() { ["dialogue"] = 1 },
    };

    /// <summary>
    /// The pretraining text: labelled reasoning-family items alternate between a worked solution
    /// and a direct answer, each after the instruction that asks for it, so both reply styles (and
    /// the words that select them) are learned from the start; unlabelled ones (see
    /// <see cref="ReasoningModelSettings.LabelledFraction"/>) are the bare question; other items
    /// are plain documents.
    /// </summary>
    public static IEnumerable<string> PretrainDocuments(ReasoningModelSettings settings)
    {
        if (!(settings.LabelledFraction is >= 0 and <= 1))
            throw new UserError($"The labelled fraction must be between 0 and 1 (got {settings.LabelledFraction}).");
        int n = 0;
        long familyItems = 0;
        foreach (var (_, item) in PretrainMixture(settings.Seed, settings.CorpusDocuments, settings.Family).Items())
        {
            if (item.Family != settings.Family) { yield return Mixture.ToDocument(item); continue; }
            // Labelled items spread evenly through the stream: item k is labelled when the running
            // count of labels, floor(k * fraction), steps up at it.
            long k = familyItems++;
            if (Math.Floor((k + 1) * settings.LabelledFraction) == Math.Floor(k * settings.LabelledFraction)) { yield return $"Q: {item.Prompt}"; continue; }
            bool worked = n++ % 2 == 0;
            var instruction = worked ? ReasoningPrompts.StepByStep : ReasoningPrompts.DirectInstruction;
            var reply = worked ? ReasoningPrompts.PathReply(item.Rationale ?? "", item.Answer) : ReasoningPrompts.DirectReply(item.Answer);
            yield return $"Q: {item.Prompt}\n{instruction}\nA: {reply}";
        }
    }

    /// <summary>Tokenizer and shards in OUT/corpus (built once, reused); returns the corpus directory.</summary>
    public static string PrepareCorpus(ReasoningModelSettings settings, string outDir, IReasoningObserver observer)
    {
        var corpus = Path.Combine(outDir, "corpus");
        var tokenizerDir = Path.Combine(corpus, "tokenizer");
        var dataDir = Path.Combine(corpus, "data");
        var documents = () => PretrainDocuments(settings);
        if (!File.Exists(Path.Combine(tokenizerDir, BpeModel.VocabFile)))
        {
            observer.Log($"Training a {settings.VocabSize}-token BPE on {settings.CorpusDocuments:N0} {settings.Family}-rich documents...");
            BpeTrainer.Train(documents(), settings.VocabSize).Save(tokenizerDir);
        }
        if (!File.Exists(Path.Combine(dataDir, TokenShardWriter.MetaFile)))
            TokenShardWriter.Prepare(documents(), Tokenizers.Load(tokenizerDir), dataDir, validationFraction: 0.05, seed: settings.Seed);
        return corpus;
    }

    /// <summary>Stage 1 on the prepared corpus into <paramref name="runDir"/>.</summary>
    public static PretrainResult Pretrain(ReasoningModelSettings settings, string corpus, string runDir, IReasoningObserver observer, CancellationToken cancel = default) =>
        Pretraining.Run(new PretrainSettings
        {
            OutDirectory = runDir, DataDirectory = Path.Combine(corpus, "data"), Tokenizer = Path.Combine(corpus, "tokenizer"),
            Model = settings.Model, Train = settings.Pretrain with { Seed = settings.Seed }, Device = settings.Device, MeasureMfu = false, SamplePrompts = [],
        }, resume: false, observer.Training("pretrain", settings.Pretrain.Steps), observer.Log, cancel);

    /// <summary>Supervised fine-tuning of <paramref name="baseModel"/> on <see cref="FormatExamples"/> written to RUN/formats.jsonl.</summary>
    public static FineTuneResult FineTune(ReasoningModelSettings settings, string baseModel, string runDir, IReasoningObserver observer, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(runDir);
        var file = Path.Combine(runDir, "formats.jsonl");
        var pool = ExemplarPool.FromTraining(settings.Family, settings.Seed + 1, maxDifficulty: settings.ExemplarMaxSteps);
        var items = CurriculumRegistry.Get(settings.Family).Generate(settings.Seed, Split.Train, settings.SftExamples);
        WriteChatJsonl(file, FormatExamples(items, pool, settings.Shots, settings.Seed));
        return FineTuning.Run(new FineTuneSettings
        {
            BaseModel = baseModel, OutDirectory = runDir, DataFile = file, Device = settings.Device, SamplePrompts = [],
            Train = settings.Sft with { Seed = settings.Seed, SequenceLength = Math.Min(settings.Sft.SequenceLength, settings.Model.ContextLength) },
        }, resume: false, observer.Training("sft", settings.Sft.Steps), observer.Log, cancel);
    }

    /// <summary>
    /// One chat per training item, the formats taken in turn: direct answers for the zero- and
    /// few-shot formats, the item's rationale and answer line for the chain-of-thought ones.
    /// </summary>
    public static IEnumerable<ChatExample> FormatExamples(IEnumerable<CurriculumItem> trainItems, ExemplarPool pool, int shots, long seed)
    {
        var formats = Enum.GetValues<PromptFormat>();
        int i = 0;
        foreach (var item in trainItems)
        {
            if (item.Split != Split.Train) throw new UserError($"Fine-tuning item {item.Id} is not a training item; fine-tune on the training split only.");
            var format = formats[i++ % formats.Length];
            var exemplars = format.IsFewShot() ? pool.Draw(shots, item.Id, seed) : null;
            var reply = format.IsChainOfThought() ? ReasoningPrompts.PathReply(item.Rationale ?? "", item.Answer) : ReasoningPrompts.DirectReply(item.Answer);
            yield return new ChatExample([new ChatMessage("user", ReasoningPrompts.UserMessage(format, item.Prompt, exemplars)), new ChatMessage("assistant", reply)]);
        }
    }

    public static void WriteChatJsonl(string path, IEnumerable<ChatExample> examples) =>
        File.WriteAllLines(path, examples.Select(e => CurriculumJson.ToLine(new { messages = e.Messages.Select(m => new { role = m.Role, content = m.Content }) })));
}
