using System.Diagnostics;
using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Dialogue;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Evaluation.Memory;

/// <summary>How the multi-turn memory evaluation trains its recurrent model and how many held-out items it asks.</summary>
public sealed record MultiTurnMemorySettings
{
    public int Steps { get; init; } = 3000;
    public int EvalItems { get; init; } = 200;
    public int Segment { get; init; } = 16;
    /// <summary>Positions of Transformer-XL memory carried between a conversation's segments.</summary>
    public int Memory { get; init; } = 48;
    public int Batch { get; init; } = 32;
    public int DModel { get; init; } = 128;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public double LearningRate { get; init; } = 3e-3;
    public int TrainConversations { get; init; } = 20_000;
    public long Seed { get; init; } = 1;
}

/// <summary>Held-out recall by the same weights with the memory carried and cleared, against guessing.</summary>
public sealed record MultiTurnMemoryResult(
    int Items, int FactOutsideLastSegment, int CorrectWithMemory, int CorrectWithoutMemory, double Chance,
    long Parameters, double FinalLoss, double TrainSeconds)
{
    public double WithMemory => Items == 0 ? 0 : (double)CorrectWithMemory / Items;
    public double WithoutMemory => Items == 0 ? 0 : (double)CorrectWithoutMemory / Items;
}

/// <summary>
/// Fact recall across segments on the curriculum's dialogue task, with and without
/// Transformer-XL memory. Each conversation is a dialogue item (difficulty 1) reduced to one
/// fact: the user states the asked fact, the item's filler turns follow, then its question; the
/// reply is the item's response. A recurrent model reads each conversation in short segments
/// and is trained on the reply, the memory carried between segments without gradient. On
/// held-out items the same weights answer once carrying the memory and once with it cleared
/// before each segment, so the difference is what the memory remembers.
/// (The full items also state two other facts and a distractor; a model this small does not
/// learn to search those out within a CPU-minutes run.)
/// </summary>
public static class MultiTurnMemory
{
    const int AnswerTokens = 10;

    /// <summary>Trains the recurrent model and scores the held-out items; <paramref name="cancel"/> stops it between steps or items with <see cref="OperationCanceledException"/>.</summary>
    public static MultiTurnMemoryResult Run(MultiTurnMemorySettings s, IProgress<(int Step, float Loss)>? progress = null, Action<string>? log = null, CancellationToken cancel = default)
    {
        if (s.Steps < 1 || s.EvalItems < 1) throw new UserError($"The memory evaluation needs at least one training step and one item (got {s.Steps} and {s.EvalItems}).");
        var family = new DialogueFamily();
        var train = family.Generate(s.Seed, Split.Train, s.TrainConversations).Where(i => i.Difficulty == 1).ToList();
        var held = family.Generate(s.Seed + 1, Split.Eval, 20 * s.EvalItems).Where(i => i.Difficulty == 1).Take(s.EvalItems).ToList();
        var dir = Path.Combine(Path.GetTempPath(), $"g4s-memory-{Environment.ProcessId}-{Guid.NewGuid():N}");
        ITokenizer tokenizer;
        try
        {
            BpeTrainer.Train(train.Take(1000).Select(i => ChatTemplate.Render(Conversation(i, withReply: true))), vocabSize: 512).Save(dir);
            tokenizer = Tokenizers.Load(dir);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }

        var config = new GptConfig
        {
            VocabSize = tokenizer.VocabSize, ContextLength = s.Segment, DModel = s.DModel, Layers = s.Layers, Heads = s.Heads, KvHeads = s.Heads,
            Attention = AttentionKind.Recurrent, MemoryLength = s.Memory,
        };
        using var model = new GptModel(config, seed: s.Seed + 2);
        var documents = train.Select(i => ChatTemplate.Encode(tokenizer, Conversation(i, withReply: true))).Select(e => (e.Ids, ReplyOnly(e))).ToList();
        var data = new DocumentSegments(documents, s.Batch, s.Segment, seed: s.Seed + 4);
        log?.Invoke($"{train.Count} training conversations ({documents.Average(d => d.Ids.Length):F0} tokens each), model {model.ParameterCount:N0} parameters, " +
            $"{s.Segment}-token segments, {s.Memory} positions of memory, {s.Steps} steps of {s.Batch} conversations.");

        var clock = Stopwatch.StartNew();
        var losses = SegmentTraining.TrainDocuments(model, data, s.Steps, s.LearningRate, warmupSteps: Math.Min(100, s.Steps / 10), progress: progress, cancel: cancel);
        double seconds = clock.Elapsed.TotalSeconds;

        var (withMemory, withoutMemory) = Score(model, tokenizer, family, held, s.Segment, cancel);
        // Guessing among the values the training replies gave for the asked slot.
        var values = train.GroupBy(Slot).ToDictionary(g => g.Key, g => g.Select(i => i.Answer).Distinct().Count());
        double chance = held.Average(i => values.TryGetValue(Slot(i), out var n) ? 1.0 / n : 0);
        int outside = held.Count(i => FactIsOutsideLastSegment(tokenizer, i, s.Segment));
        double finalLoss = losses.Length == 0 ? double.NaN : losses.TakeLast(Math.Min(100, losses.Length)).Average();
        return new MultiTurnMemoryResult(held.Count, outside, withMemory, withoutMemory, chance, model.ParameterCount, finalLoss, seconds);
    }

    static string Slot(CurriculumItem item) => (string)item.Extra!["slot"]!;

    /// <summary>
    /// The item's asked fact (the fact turn naming its answer), its filler turns (without the other
    /// facts and the distractor, whose statements start with "My"), its question and, for training, its reply.
    /// </summary>
    static List<ChatMessage> Conversation(CurriculumItem item, bool withReply)
    {
        var history = item.History!;
        var messages = new List<ChatMessage>();
        for (int i = 0; i + 1 < history.Count; i += 2)
        {
            bool askedFact = i < 6 && Regex.IsMatch(history[i].Content, $@"(?<![A-Za-z0-9]){Regex.Escape(item.Answer)}(?![A-Za-z0-9])");
            bool filler = i >= 6 && !history[i].Content.StartsWith("My ", StringComparison.Ordinal);
            if (askedFact || filler) messages.AddRange([history[i], history[i + 1]]);
        }
        messages.Add(new("user", item.Prompt));
        if (withReply) messages.Add(new("assistant", item.Response));
        return messages;
    }

    /// <summary>Learn flags for the final reply only: the earlier assistant turns are context, as in the item.</summary>
    static bool[] ReplyOnly(ChatEncoding encoding)
    {
        var learn = (bool[])encoding.AssistantMask.Clone();
        int start = learn.Length - 1;
        while (start > 0 && learn[start - 1]) start--;
        Array.Fill(learn, false, 0, start);
        return learn;
    }

    static bool FactIsOutsideLastSegment(ITokenizer tokenizer, CurriculumItem item, int segment)
    {
        var messages = Conversation(item, withReply: false);
        int prompt = ChatTemplate.Encode(tokenizer, messages, addGenerationPrompt: true).Ids.Length;
        int factEnd = ChatTemplate.Encode(tokenizer, messages.Take(1).ToList()).Ids.Length;
        return prompt - factEnd >= segment;
    }

    static (int With, int Without) Score(GptModel model, ITokenizer tokenizer, DialogueFamily family, List<CurriculumItem> items, int segment, CancellationToken cancel)
    {
        int with = 0, without = 0;
        foreach (var item in items)
        {
            cancel.ThrowIfCancellationRequested();
            var prompt = ChatTemplate.Encode(tokenizer, Conversation(item, withReply: false), addGenerationPrompt: true).Ids;
            if (family.Check(item, Answer(model, tokenizer, prompt, segment, carryMemory: true)).Correct) with++;
            if (family.Check(item, Answer(model, tokenizer, prompt, segment, carryMemory: false)).Correct) without++;
        }
        return (with, without);
    }

    /// <summary>Feeds the prompt segment by segment (the last ending at the prompt's end), then decodes greedily.</summary>
    static string Answer(GptModel model, ITokenizer tokenizer, int[] prompt, int segment, bool carryMemory)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var memory = model.NewMemory();
        int end = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value;
        static Tensor Ids(IEnumerable<int> ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64).unsqueeze(0);
        int first = prompt.Length % segment == 0 ? segment : prompt.Length % segment;
        Tensor logits = null!;
        for (int start = 0, length = first; start < prompt.Length; start += length, length = segment)
        {
            if (!carryMemory) memory.Clear();
            logits = model.ForwardSegment(Ids(prompt.Skip(start).Take(length)), memory);
        }
        var answer = new List<int>();
        for (int t = 0; t < AnswerTokens; t++)
        {
            int next = (int)logits.select(1, -1).argmax(-1).item<long>();
            if (next == end) break;
            answer.Add(next);
            logits = model.ForwardSegment(Ids([next]), memory);
        }
        return tokenizer.Decode(answer);
    }
}
