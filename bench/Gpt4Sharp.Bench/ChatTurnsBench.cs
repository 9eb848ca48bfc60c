using Gpt4Sharp.Chat;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;

namespace Gpt4Sharp.Bench;

/// <summary>
/// A scripted 50-turn conversation with an untrained model (d=768, L=2: wide enough that, as in
/// real GPT models, the weights and not the attention over the history dominate a short turn),
/// once keeping the KV cache across turns (ChatSession) and once re-encoding the whole history every turn, at an
/// 8K and a 32K context. Prints time to first token and per-token decode time per turn, and
/// turn 50 over turn 1. Greedy decoding, so both modes write the same answers.
/// </summary>
public static class ChatTurnsBench
{
    const int Turns = 50;
    // Prints per-turn rows for these turns (all 50 are measured).
    static readonly int[] Shown = [1, 2, 3, 4, 5, 10, 20, 30, 40, 46, 47, 48, 49, 50];

    public static int Run(string[] args)
    {
        torch.set_num_threads(1); // a model this small runs steadier on one thread of a busy machine
        var tokenizer = BuildTokenizer();
        foreach (var context in new[] { GptConfig.Context8K, GptConfig.Context32K })
        {
            var config = new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = context, DModel = 768, Layers = 2, Heads = 6, KvHeads = 6 };
            using var model = new GptModel(config);
            var options = new ChatSessionOptions { SystemPrompt = "You are a helpful assistant.", Sampling = SamplingOptions.Greedy(16), MinNewTokens = 16 };
            var cached = Converse(model, tokenizer, options);
            var reencoded = Converse(model, tokenizer, options with { ReuseCache = false });
            Console.WriteLine($"context {context} tokens, model d=768 L=2 ({config.ParameterCount / 1e6:F2}M params), {Turns} turns, greedy, 16-token answers, 1 thread");
            Console.WriteLine($"{"turn",5} {"prompt",7} {"cached",7} {"TTFT kv ms",11} {"TTFT re ms",11} {"decode kv ms/tok",17} {"decode re ms/tok",17} {"cost",9}");
            foreach (var i in Shown)
            {
                var (a, b) = (cached[i - 1], reencoded[i - 1]);
                Console.WriteLine($"{i,5} {a.PromptTokens,7} {a.CachedTokens,7} {a.TimeToFirstToken * 1000,11:F1} {b.TimeToFirstToken * 1000,11:F1} {a.DecodeSecondsPerToken * 1000,17:F2} {b.DecodeSecondsPerToken * 1000,17:F2} {a.Cost,9:F4}");
            }
            Console.WriteLine($"turn 50 / turn 1 time to first token: with cache {Ratio(cached, u => u.TimeToFirstToken):F2}x, re-encoding {Ratio(reencoded, u => u.TimeToFirstToken):F2}x " +
                              $"(medians of turns 1-5 and 46-50); total cost ${cached.Sum(u => u.Cost):F4}");
            Console.WriteLine();
        }
        return 0;
    }

    static List<TurnUsage> Converse(GptModel model, ITokenizer tokenizer, ChatSessionOptions options)
    {
        using var session = new ChatSession(model, tokenizer, options);
        session.AskAsync("Warm up.").GetAwaiter().GetResult(); // first-call allocations, then start over
        session.Reset();
        for (int turn = 1; turn <= Turns; turn++)
            session.AskAsync($"Turn {turn}: please remember that box {turn} holds a {Colours[turn % Colours.Length]} {Animals[turn % Animals.Length]} and tell me what box {turn / 2} holds.").GetAwaiter().GetResult();
        return [.. session.Usage];
    }

    static double Ratio(List<TurnUsage> usage, Func<TurnUsage, double> time)
    {
        static double Median(IEnumerable<double> xs) => xs.Order().ElementAt(2);
        return Median(usage.TakeLast(5).Select(time)) / Median(usage.Take(5).Select(time));
    }

    static readonly string[] Colours = ["red", "green", "blue", "yellow", "purple"];
    static readonly string[] Animals = ["cat", "dog", "fox", "owl", "hare", "mole", "newt"];

    /// <summary>A small byte-level BPE (with the chat special tokens) trained on the script's own words.</summary>
    static ITokenizer BuildTokenizer()
    {
        var texts = Enumerable.Range(0, 200).Select(i => $"Turn {i}: please remember that box {i} holds a {Colours[i % Colours.Length]} {Animals[i % Animals.Length]} and tell me what box {i / 2} holds. You are a helpful assistant.");
        var dir = Path.Combine(Path.GetTempPath(), $"g4s-chat-bench-{Environment.ProcessId}");
        BpeTrainer.Train(texts, vocabSize: 512).Save(dir);
        return Tokenizers.Load(dir);
    }
}
