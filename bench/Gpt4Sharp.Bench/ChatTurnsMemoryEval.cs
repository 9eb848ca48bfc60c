using System.Diagnostics;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Dialogue;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

/// <summary>
/// The curriculum's multi-turn task with and without Transformer-XL memory. A small recurrent
/// model (segments of 32 tokens, memory 192) is trained over consecutive segments of rendered
/// dialogue conversations (difficulty 1-2: facts, a few filler turns and a distractor, then a
/// question about a fact). On held-out items the facts lie outside the question's segment; the
/// same weights answer once carrying the memory and once with it cleared before that segment.
/// Usage: memory-eval [training steps, default 1500] [eval items, default 100].
/// </summary>
public static class ChatTurnsMemoryEval
{
    const int Segment = 32, Memory = 192, AnswerTokens = 12;

    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 1500, evalCount = args.Length > 1 ? int.Parse(args[1]) : 100;
        torch.set_num_threads(1); // a model this small runs faster on one thread of a busy machine
        var family = new DialogueFamily();
        var train = family.Generate(1, Split.Train, 6000).Where(i => i.Difficulty <= 2).ToList();
        var held = family.Generate(2, Split.Eval, 4 * evalCount).Where(i => i.Difficulty <= 2).Take(evalCount).ToList();
        var dir = Path.Combine(Path.GetTempPath(), $"g4s-memory-eval-{Environment.ProcessId}");
        BpeTrainer.Train(train.Take(1000).Select(i => ChatTemplate.Render(Conversation(i, withAnswer: true))), vocabSize: 512).Save(dir);
        var tokenizer = Tokenizers.Load(dir);

        var config = new GptConfig
        {
            VocabSize = tokenizer.VocabSize, ContextLength = Segment, DModel = 128, Layers = 3, Heads = 4, KvHeads = 4,
            Attention = AttentionKind.Recurrent, MemoryLength = Memory,
        };
        using var model = new GptModel(config, seed: 3);
        var documents = train.Select(i => ChatTemplate.Encode(tokenizer, Conversation(i, withAnswer: true)).Ids).ToList();
        var data = new SegmentStream(documents, batch: 16, segmentLength: Segment);
        Console.WriteLine($"{train.Count} training conversations ({documents.Sum(d => d.Length):N0} tokens, {documents.Average(d => d.Length):F0} per conversation), model {config.ParameterCount / 1e6:F2}M params, segment {Segment}, memory {Memory}");
        var clock = Stopwatch.StartNew();
        var losses = SegmentTraining.Train(model, data, steps, learningRate: 2e-3, progress: new Progress<(int Step, float Loss)>(p =>
        {
            if (p.Step % 100 == 0) Console.WriteLine($"  step {p.Step,5}  loss {p.Loss:F3}  ({clock.Elapsed.TotalSeconds:F0} s)");
        }));
        Console.WriteLine($"trained {steps} steps in {clock.Elapsed.TotalSeconds:F0} s, last-100 mean loss {losses.TakeLast(100).Average():F3}");

        int withMemory = 0, without = 0, outside = 0;
        foreach (var item in held)
        {
            var prompt = ChatTemplate.Encode(tokenizer, Conversation(item, withAnswer: false), addGenerationPrompt: true).Ids;
            var factEnd = ChatTemplate.Encode(tokenizer, Conversation(item, withAnswer: false).Take(6).ToList()).Ids.Length; // the three facts
            if (prompt.Length - factEnd >= Segment) outside++;
            if (family.Check(item, Answer(model, tokenizer, prompt, carryMemory: true)).Correct) withMemory++;
            if (family.Check(item, Answer(model, tokenizer, prompt, carryMemory: false)).Correct) without++;
        }
        Console.WriteLine();
        Console.WriteLine($"held-out dialogue items: {held.Count} (facts outside the question's {Segment}-token segment in {outside})");
        Console.WriteLine($"{"model",-28} {"correct",8} {"accuracy",9}");
        Console.WriteLine($"{"with memory (192 tokens)",-28} {withMemory,8} {100.0 * withMemory / held.Count,8:F1}%");
        Console.WriteLine($"{"same weights, no memory",-28} {without,8} {100.0 * without / held.Count,8:F1}%");
        return 0;
    }

    static List<ChatMessage> Conversation(CurriculumItem item, bool withAnswer)
    {
        var messages = item.History!.Select(m => new ChatMessage(m.Role, m.Content)).ToList();
        messages.Add(new("user", item.Prompt));
        if (withAnswer) messages.Add(new("assistant", item.Response));
        return messages;
    }

    /// <summary>Feeds the prompt segment by segment (the last segment ends at the prompt's end), then decodes greedily one token per step.</summary>
    static string Answer(GptModel model, ITokenizer tokenizer, int[] prompt, bool carryMemory)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var memory = model.NewMemory();
        int end = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value;
        Tensor Ids(IEnumerable<int> ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64).unsqueeze(0);
        int first = prompt.Length % Segment == 0 ? Segment : prompt.Length % Segment;
        var bounds = new List<(int Start, int Length)> { (0, first) };
        for (int s = first; s < prompt.Length; s += Segment) bounds.Add((s, Segment));
        Tensor logits = null!;
        for (int b = 0; b < bounds.Count; b++)
        {
            if (!carryMemory) memory.Clear();
            logits = model.ForwardSegment(Ids(prompt.Skip(bounds[b].Start).Take(bounds[b].Length)), memory);
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
