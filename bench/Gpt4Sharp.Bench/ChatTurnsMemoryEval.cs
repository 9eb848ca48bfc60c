using System.Diagnostics;
using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Dialogue;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Fact recall across segments on the curriculum's dialogue task, with and without Transformer-XL
/// memory. Each conversation is a dialogue item (difficulty 1) reduced to one fact: the user states
/// the asked fact, the item's filler turn follows, then the item's question; the reply is the item's
/// response. (The full items also state two other facts and a distractor; a model this small does
/// not learn to search those out within a 10-minute CPU run: the earlier run scored 7%.) A 2-layer
/// recurrent model reads each conversation in 16-token segments with 48 positions of memory and is
/// trained on the reply, the memory carried between a conversation's segments without gradient.
/// On held-out items the fact always lies before the question's segment; the same weights answer
/// once carrying the memory and once with it cleared before each segment.
/// Usage: memory-eval [training steps, default 3000] [eval items, default 200].
/// </summary>
public static class ChatTurnsMemoryEval
{
    const int Segment = 16, Memory = 48, Batch = 32, AnswerTokens = 10, ProbeEvery = 500;
    const double LearningRate = 3e-3;

    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 3000, evalCount = args.Length > 1 ? int.Parse(args[1]) : 200;
        torch.set_num_threads(1); // a model this small runs faster on one thread of a busy machine
        var family = new DialogueFamily();
        var train = family.Generate(1, Split.Train, 20_000).Where(i => i.Difficulty == 1).ToList();
        var held = family.Generate(2, Split.Eval, 20 * evalCount).Where(i => i.Difficulty == 1).Take(evalCount).ToList();
        var dir = Path.Combine(Path.GetTempPath(), $"g4s-memory-eval-{Environment.ProcessId}");
        BpeTrainer.Train(train.Take(1000).Select(i => ChatTemplate.Render(Conversation(i, withReply: true))), vocabSize: 512).Save(dir);
        var tokenizer = Tokenizers.Load(dir);

        var config = new GptConfig
        {
            VocabSize = tokenizer.VocabSize, ContextLength = Segment, DModel = 128, Layers = 2, Heads = 4, KvHeads = 4,
            Attention = AttentionKind.Recurrent, MemoryLength = Memory,
        };
        using var model = new GptModel(config, seed: 3);
        var documents = train.Select(i => ChatTemplate.Encode(tokenizer, Conversation(i, withReply: true))).Select(e => (e.Ids, ReplyOnly(e))).ToList();
        var data = new DocumentSegments(documents, Batch, Segment, seed: 5);
        Console.WriteLine($"{train.Count} training conversations ({documents.Average(d => d.Ids.Length):F0} tokens each), model {config.ParameterCount / 1e6:F2}M params, " +
            $"{Segment}-token segments, {Memory} positions of memory, {steps} steps of {Batch} conversations");

        var probe = held.Take(50).ToList();
        var clock = Stopwatch.StartNew();
        var recent = new Queue<float>();
        SegmentTraining.TrainDocuments(model, data, steps, LearningRate, warmupSteps: 100, progress: new OnThread(p =>
        {
            recent.Enqueue(p.Loss);
            if (recent.Count > 100) recent.Dequeue();
            if (p.Step % ProbeEvery != 0) return;
            var (with, without) = Score(model, tokenizer, family, probe);
            Console.WriteLine($"  step {p.Step,5}  reply loss {recent.Average():F3}  probe recall: with memory {with,2}/{probe.Count}, without {without,2}/{probe.Count}  ({clock.Elapsed.TotalSeconds:F0} s)");
        }));
        Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F0} s (shared 2-core machine, one thread)");

        var (withMemory, noMemory) = Score(model, tokenizer, family, held);
        // Guessing among the values the training replies gave for the asked slot.
        var values = train.GroupBy(Slot).ToDictionary(g => g.Key, g => g.Select(i => i.Answer).Distinct().Count());
        double chance = held.Average(i => 1.0 / values[Slot(i)]);
        int outside = held.Count(i => FactIsOutsideLastSegment(tokenizer, i));
        Console.WriteLine();
        Console.WriteLine($"held-out dialogue items: {held.Count}; the fact lies before the question's {Segment}-token segment in {outside}");
        Console.WriteLine($"| {"model (same weights)",-34} | {"correct",7} | {"accuracy",8} |");
        Console.WriteLine($"|{new string('-', 36)}|{new string('-', 9)}|{new string('-', 10)}|");
        Console.WriteLine($"| {$"with memory ({Memory} positions)",-34} | {withMemory,7} | {100.0 * withMemory / held.Count,7:F1}% |");
        Console.WriteLine($"| {"memory cleared before each segment",-34} | {noMemory,7} | {100.0 * noMemory / held.Count,7:F1}% |");
        Console.WriteLine($"| {"chance (guess among slot values)",-34} | {"",7} | {100 * chance,7:F1}% |");
        return 0;
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

    static bool FactIsOutsideLastSegment(ITokenizer tokenizer, CurriculumItem item)
    {
        var messages = Conversation(item, withReply: false);
        int prompt = ChatTemplate.Encode(tokenizer, messages, addGenerationPrompt: true).Ids.Length;
        int factEnd = ChatTemplate.Encode(tokenizer, messages.Take(1).ToList()).Ids.Length;
        return prompt - factEnd >= Segment;
    }

    static (int With, int Without) Score(GptModel model, ITokenizer tokenizer, DialogueFamily family, List<CurriculumItem> items)
    {
        int with = 0, without = 0;
        foreach (var item in items)
        {
            var prompt = ChatTemplate.Encode(tokenizer, Conversation(item, withReply: false), addGenerationPrompt: true).Ids;
            if (family.Check(item, Answer(model, tokenizer, prompt, carryMemory: true)).Correct) with++;
            if (family.Check(item, Answer(model, tokenizer, prompt, carryMemory: false)).Correct) without++;
        }
        return (with, without);
    }

    /// <summary>Feeds the prompt segment by segment (the last ending at the prompt's end), then decodes greedily.</summary>
    static string Answer(GptModel model, ITokenizer tokenizer, int[] prompt, bool carryMemory)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var memory = model.NewMemory();
        int end = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value;
        static Tensor Ids(IEnumerable<int> ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64).unsqueeze(0);
        int first = prompt.Length % Segment == 0 ? Segment : prompt.Length % Segment;
        Tensor logits = null!;
        for (int start = 0, length = first; start < prompt.Length; start += length, length = Segment)
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

    sealed class OnThread(Action<(int Step, float Loss)> report) : IProgress<(int Step, float Loss)>
    {
        public void Report((int Step, float Loss) value) => report(value);
    }
}
