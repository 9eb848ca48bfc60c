using Gpt4Sharp.Chat;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;
using TorchSharp;

namespace Gpt4Sharp.Tests.Chat;

public class ChatSessionTests
{
    static readonly AsciiTokenizer Tokenizer = new();
    static readonly GptConfig Tiny = new() { VocabSize = Tokenizer.VocabSize, ContextLength = 256, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 };
    static readonly ChatSessionOptions Greedy = new() { SystemPrompt = "Be brief.", Sampling = SamplingOptions.Greedy(6) };
    static readonly string[] Script = ["Hi there.", "My dog is called Rex.", "What is 2 + 3?", "What is my dog called?"];

    [Fact]
    public async Task Each_turn_processes_only_its_new_tokens_and_answers_as_re_encoding_the_history_would()
    {
        using var model = new GptModel(Tiny, seed: 3);
        using var cached = new ChatSession(model, Tokenizer, Greedy);
        using var reencoded = new ChatSession(model, Tokenizer, Greedy with { ReuseCache = false });
        foreach (var line in Script)
        {
            var (a, usageA) = await cached.AskAsync(line);
            var (b, usageB) = await reencoded.AskAsync(line);
            Assert.Equal(b, a);
            Assert.Equal(usageB.PromptTokens, usageA.PromptTokens);
            Assert.Equal(usageA.PromptTokens, usageA.CachedTokens + usageA.NewTokens);
            Assert.Equal(0, usageB.CachedTokens);
        }
        // After the first turn, a turn processes the previous answer's tail, its own message and the generation prompt: no history.
        var last = cached.Usage[^1];
        int userTokens = ChatTemplate.Encode(Tokenizer, [new ChatMessage("user", Script[^1])], addGenerationPrompt: true).Ids.Length;
        Assert.InRange(last.NewTokens, userTokens + 1, userTokens + 2);
        Assert.Equal(ChatTemplate.Encode(Tokenizer, cached.Messages.SkipLast(1).ToList(), addGenerationPrompt: true).Ids.Length, last.PromptTokens);
    }

    [Fact]
    public async Task A_dense_cpu_session_holds_the_logits_of_one_forward_over_the_whole_conversation()
    {
        // A dense fp32 model on the CPU keeps its state in CpuDecoder's sequence; this pins it to the module path's full forward.
        using var model = new GptModel(Tiny, seed: 12);
        using var session = new ChatSession(model, Tokenizer, Greedy);
        foreach (var line in Script[..3]) await session.AskAsync(line);
        var answer = Tokenizer.Encode(session.Messages[^1].Content); // one token per character
        var fedAnswer = session.Usage[^1].End == TurnEnd.Length ? answer[..^1] : answer; // a length-cut answer's last token waits for the next turn
        int[] ids = [.. ChatTemplate.Encode(Tokenizer, session.Messages.SkipLast(1).ToList(), addGenerationPrompt: true).Ids, .. fedAnswer];
        Assert.Equal(ids.Length, session.CachedTokens);

        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var full = model.Forward(torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0, -1];
        Assert.True(session.LastLogits!.squeeze(0).allclose(full, atol: 1e-4));
    }

    [Fact]
    public async Task A_dense_conversation_longer_than_the_window_slides_keeping_the_system_prompt()
    {
        using var model = new GptModel(Tiny with { ContextLength = 64 }, seed: 4);
        using var session = new ChatSession(model, Tokenizer, Greedy);
        for (int turn = 0; turn < 20; turn++)
        {
            await session.AskAsync($"Turn {turn}: tell me something.");
            Assert.True(session.CachedTokens <= 64);
        }
        Assert.Contains(session.Usage, u => u.WindowSlid);
        Assert.Equal("system", session.Messages[0].Role);
        Assert.True(session.WindowStart > 1);
        Assert.Equal("user", session.Messages[session.WindowStart].Role);
        Assert.Equal(40, session.Messages.Count - 1);

        using var reencoding = new ChatSession(model, Tokenizer, Greedy with { ReuseCache = false });
        for (int turn = 0; turn < 8; turn++) await reencoding.AskAsync($"Turn {turn}: tell me something.");
        Assert.Contains(reencoding.Usage, u => u.WindowSlid);
    }

    [Fact]
    public async Task A_recurrent_conversation_keeps_a_bounded_memory_and_never_fills_up()
    {
        using var model = new GptModel(Tiny with { ContextLength = 16, Attention = AttentionKind.Recurrent, MemoryLength = 32 }, seed: 5);
        using var session = new ChatSession(model, Tokenizer, Greedy);
        for (int turn = 0; turn < 12; turn++) await session.AskAsync($"Turn {turn}: tell me something longer than one segment.");
        Assert.Equal(32, session.CachedTokens);
        Assert.All(session.Usage, u => Assert.False(u.WindowSlid));
        Assert.Equal(32, session.Usage[^1].CachedTokens);
    }

    [Fact]
    public async Task Usage_is_priced_by_the_context_tier()
    {
        using var small = new GptModel(Tiny, seed: 6);
        using var session = new ChatSession(small, Tokenizer, Greedy);
        var (_, usage) = await session.AskAsync("Hello");
        Assert.Equal((usage.PromptTokens * 0.03m + usage.CompletionTokens * 0.06m) / 1000m, usage.Cost);
        Assert.Equal(usage.Cost, session.TotalCost);

        using var forced = new ChatSession(small, Tokenizer, Greedy with { MinNewTokens = 6 });
        Assert.Equal(6, (await forced.AskAsync("Hello")).Usage.CompletionTokens); // stop tokens suppressed until the minimum

        Assert.Equal(0.06m, PriceTable.Gpt4.TierFor(GptConfig.Context32K).PromptPer1K);
        Assert.Equal(0.03m, PriceTable.Gpt4.TierFor(GptConfig.Context8K).PromptPer1K);
        Assert.Equal((1000 * 0.06m + 500 * 0.12m) / 1000m, PriceTable.Gpt4.Cost(GptConfig.Context32K, 1000, 500));

        var dir = RepoPaths.NewTempDir();
        var path = Path.Combine(dir, "prices.json");
        File.WriteAllText(path, new PriceTable([new PriceTier(4096, 1m, 2m)]).ToJson());
        Assert.Equal(0.004m, PriceTable.Load(path).Cost(256, 2, 1));
        File.WriteAllText(path, "{\"tiers\": []}");
        Assert.Contains("tiers", Assert.Throws<UserError>(() => PriceTable.Load(path)).Message);
    }

    [Fact]
    public async Task A_saved_session_loads_and_continues_exactly_as_the_original()
    {
        using var model = new GptModel(Tiny, seed: 7);
        using var original = new ChatSession(model, Tokenizer, Greedy);
        await original.AskAsync(Script[0]);
        await original.AskAsync(Script[1]);
        var path = Path.Combine(RepoPaths.NewTempDir(), "chat.json");
        original.Save(path);

        using var loaded = ChatSession.Load(path, model, Tokenizer, Greedy);
        Assert.Equal(original.Messages, loaded.Messages);
        Assert.Equal(original.Usage, loaded.Usage);
        Assert.Equal(original.CachedTokens + 1, loaded.CachedTokens); // the original has not fed its last <|end|> yet
        Assert.Equal((await original.AskAsync(Script[2])).Answer, (await loaded.AskAsync(Script[2])).Answer);

        File.WriteAllText(path, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}], \"usage\": []}");
        Assert.Contains("roles", Assert.Throws<UserError>(() => ChatSession.Load(path, model, Tokenizer)).Message);
    }

    [Fact]
    public async Task Cancelling_stops_the_answer_keeps_it_and_the_next_turn_works()
    {
        using var model = new GptModel(Tiny, seed: 11);
        using var session = new ChatSession(model, Tokenizer, Greedy with { Sampling = new SamplingOptions { MaxNewTokens = 50, Temperature = 1, Seed = 1 } });
        using var stop = new CancellationTokenSource();
        int streamed = 0;
        await foreach (var _ in session.SendAsync("Tell me a long story.", stop.Token))
            if (++streamed == 2) stop.Cancel();
        Assert.Equal(TurnEnd.Cancelled, session.Usage[^1].End);
        Assert.Equal(2, session.Usage[^1].CompletionTokens);

        session.Reset();
        Assert.Single(session.Messages); // the system prompt
        Assert.Equal(0, session.CachedTokens);
        var (_, usage) = await session.AskAsync("Hello again.");
        Assert.Equal(1, usage.Turn);
        Assert.Equal(0, usage.CachedTokens);
    }
}
