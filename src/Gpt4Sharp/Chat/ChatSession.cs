using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Chat;

/// <summary>Settings of a <see cref="ChatSession"/>.</summary>
public sealed record ChatSessionOptions
{
    public string? SystemPrompt { get; init; }
    /// <summary>Sampling for answers; they end at the model's &lt;|end|&gt; (or any special) token or after MaxNewTokens.</summary>
    public SamplingOptions Sampling { get; init; } = new() { MaxNewTokens = 256, Temperature = 0.7, TopP = 0.95 };
    public PriceTable Prices { get; init; } = PriceTable.Gpt4;
    /// <summary>Stop tokens are suppressed until the answer has this many tokens (Hugging Face's min_new_tokens).</summary>
    public int MinNewTokens { get; init; }
    /// <summary>False re-encodes the whole conversation every turn (the baseline the chat benchmark compares against).</summary>
    public bool ReuseCache { get; init; } = true;
}

/// <summary>
/// A multi-turn conversation that keeps the model's state between turns, so each turn only
/// processes its new tokens. Dense and sparse models keep one <see cref="KvCache"/>; when the
/// next turn would not fit the context (prompt plus room for the answer), the oldest whole
/// turns leave the window (the system prompt stays) and what remains is encoded once — a
/// documented sliding window, never an exception. Recurrent models keep a
/// <see cref="SegmentMemory"/> of the last MemoryLength positions and never fill up.
/// Turns are framed with <see cref="ChatTemplate"/>; every turn is metered in <see cref="Usage"/>.
/// </summary>
public sealed class ChatSession : IDisposable
{
    readonly GptModel model;
    readonly ITokenizer tokenizer;
    readonly List<ChatMessage> messages = [];
    readonly List<TurnUsage> usage = [];
    readonly KvCache? cache;
    readonly SegmentMemory? memory;
    readonly int endOfTurn;
    /// <summary>Any special token ends the answer: content is plain text, so a role or image token means the model has left its turn.</summary>
    readonly HashSet<int> stopIds;
    /// <summary>Tokens of the conversation fed to the model so far (the cache's contents for dense models).</summary>
    readonly List<int> fed = [];
    /// <summary>Tokens of the last answer not fed yet (its last token and the closing &lt;|end|&gt;).</summary>
    readonly List<int> pending = [];
    Tensor? lastLogits;

    public ChatSession(GptModel model, ITokenizer tokenizer, ChatSessionOptions? options = null)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        Options = options ?? new ChatSessionOptions();
        Options.Sampling.Validate();
        endOfTurn = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
            ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {SpecialTokens.EndOfTurn} token; chat needs a tokenizer trained with 'gpt4sharp tokenizer train'.");
        stopIds = SpecialTokens.All.Select(tokenizer.SpecialTokenId).OfType<int>().ToHashSet();
        if (model.Config.Attention == AttentionKind.Recurrent) memory = model.NewMemory();
        else cache = model.NewCache();
        model.eval();
        if (Options.SystemPrompt is { Length: > 0 } system) messages.Add(new ChatMessage("system", system));
    }

    public ChatSessionOptions Options { get; }
    public IReadOnlyList<ChatMessage> Messages => messages;
    public IReadOnlyList<TurnUsage> Usage => usage;
    /// <summary>Index of the oldest message after the system prompt still in the model's window.</summary>
    public int WindowStart { get; private set; }
    /// <summary>Positions the model currently remembers (cache length or memory length).</summary>
    public int CachedTokens => cache?.Length ?? memory!.Length;

    bool HasSystem => messages.Count > 0 && messages[0].Role == "system";
    int FirstTurn => HasSystem ? 1 : 0;

    /// <summary>Sends a user message and streams the answer token by token. Cancelling ends the answer early (it is kept, marked <see cref="TurnEnd.Cancelled"/>); it never throws for that.</summary>
    public async IAsyncEnumerable<GeneratedToken> SendAsync(string userMessage, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var sampling = Options.Sampling;
        int context = model.Config.ContextLength;
        if (WindowStart < FirstTurn) WindowStart = FirstTurn;
        messages.Add(new ChatMessage("user", userMessage));
        var userIds = ChatTemplate.Encode(tokenizer, [messages[^1]], addGenerationPrompt: true).Ids;

        bool slid = false;
        int[] newIds;
        if (!Options.ReuseCache)
        {
            Forget();
            newIds = WindowIds(addGenerationPrompt: true);
            if (cache is not null && newIds.Length + Reserve > context)
            {
                SlideWindow();
                slid = true;
                newIds = WindowIds(addGenerationPrompt: true);
            }
        }
        else
        {
            var head = fed.Count == 0 && HasSystem ? ChatTemplate.Encode(tokenizer, [messages[0]]).Ids : [];
            newIds = [.. pending, .. head, .. userIds];
            if (cache is not null && cache.Length + newIds.Length + Reserve > context)
            {
                SlideWindow();
                slid = true;
                newIds = WindowIds(addGenerationPrompt: true);
            }
        }
        pending.Clear();
        int cachedBefore = CachedTokens;
        Feed(newIds);
        int promptTokens = cachedBefore + newIds.Length;

        var processor = new LogitsProcessor(sampling);
        var decoder = Encoding.UTF8.GetDecoder();
        var answer = new StringBuilder();
        var answerIds = new List<int>();
        var end = TurnEnd.Length;
        double firstTokenAt = 0;
        for (int produced = 0; produced < sampling.MaxNewTokens; produced++)
        {
            if (cancel.IsCancellationRequested) { end = TurnEnd.Cancelled; break; }
            int next = Sample(processor, allowStop: produced >= Options.MinNewTokens);
            if (produced == 0) firstTokenAt = clock.Elapsed.TotalSeconds;
            if (stopIds.Contains(next)) { end = TurnEnd.Stop; break; }
            answerIds.Add(next);
            var bytes = tokenizer.TokenBytes(next);
            var chars = new char[decoder.GetCharCount(bytes, flush: false)];
            decoder.GetChars(bytes, chars, flush: false);
            answer.Append(chars);
            yield return new GeneratedToken(next, new string(chars));
            if (produced + 1 == sampling.MaxNewTokens) { pending.Add(next); break; }
            if (cache is not null && cache.Length + 1 > context) { end = TurnEnd.ContextFull; pending.Add(next); break; }
            Feed([next]);
            await Task.Yield(); // let a streaming consumer write between tokens
        }
        var rest = new char[decoder.GetCharCount([], flush: true)];
        decoder.GetChars([], rest, flush: true);
        if (rest.Length > 0)
        {
            answer.Append(rest);
            yield return new GeneratedToken(-1, new string(rest));
        }
        pending.Add(endOfTurn);
        messages.Add(new ChatMessage("assistant", answer.ToString()));

        double total = clock.Elapsed.TotalSeconds;
        int completion = answerIds.Count;
        usage.Add(new TurnUsage
        {
            Turn = usage.Count + 1,
            PromptTokens = promptTokens,
            CompletionTokens = completion,
            CachedTokens = cachedBefore,
            NewTokens = newIds.Length,
            Cost = Options.Prices.Cost(context, promptTokens, completion),
            TimeToFirstToken = firstTokenAt > 0 ? firstTokenAt : total,
            DecodeSecondsPerToken = completion > 1 ? (total - firstTokenAt) / (completion - 1) : 0,
            WindowSlid = slid,
            End = end,
        });
    }

    /// <summary>Sends a message and waits for the whole answer: (answer text, its usage).</summary>
    public async Task<(string Answer, TurnUsage Usage)> AskAsync(string userMessage, CancellationToken cancel = default)
    {
        await foreach (var _ in SendAsync(userMessage, cancel)) { }
        return (messages[^1].Content, usage[^1]);
    }

    public int TotalPromptTokens => usage.Sum(u => u.PromptTokens);
    public int TotalCompletionTokens => usage.Sum(u => u.CompletionTokens);
    public decimal TotalCost => usage.Sum(u => u.Cost);

    /// <summary>Starts over: the system prompt stays, the conversation, usage and model state go.</summary>
    public void Reset()
    {
        messages.RemoveRange(FirstTurn, messages.Count - FirstTurn);
        usage.Clear();
        WindowStart = FirstTurn;
        Forget();
    }

    /// <summary>Writes the conversation and its usage as JSON (atomically); the model state is rebuilt on load.</summary>
    public void Save(string path)
    {
        var saved = new SavedSession(messages.ToList(), usage.ToList(), WindowStart);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(saved, JsonOptions));
    }

    /// <summary>Opens a conversation written by <see cref="Save"/> and re-encodes its window once so the next turn is fast.</summary>
    public static ChatSession Load(string path, GptModel model, ITokenizer tokenizer, ChatSessionOptions? options = null)
    {
        if (!File.Exists(path)) throw new UserError($"Chat file {path} does not exist; save one with /save FILE first.");
        SavedSession? saved;
        try { saved = JsonSerializer.Deserialize<SavedSession>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new UserError($"Chat file {path} is not a saved chat ({e.Message}).", e); }
        if (saved?.Messages is null || saved.Usage is null || saved.Messages.Any(m => m?.Role is not ("system" or "user" or "assistant") || m.Content is null))
            throw new UserError($"Chat file {path} is not a saved chat; it needs \"messages\" with system, user or assistant roles and \"usage\".");
        var session = new ChatSession(model, tokenizer, (options ?? new ChatSessionOptions()) with { SystemPrompt = null });
        session.messages.AddRange(saved.Messages);
        session.usage.AddRange(saved.Usage);
        session.WindowStart = Math.Clamp(saved.WindowStart, session.FirstTurn, session.messages.Count);
        if (session.Options.ReuseCache && session.messages.Count > 0)
        {
            var ids = session.WindowIds(addGenerationPrompt: false);
            // A window that no longer fits (e.g. saved from a larger model) slides now rather than on the next turn.
            if (session.cache is not null && ids.Length + session.Reserve > model.Config.ContextLength)
            {
                session.SlideWindow(extra: 0);
                ids = session.WindowIds(addGenerationPrompt: false);
            }
            session.Feed(ids);
        }
        return session;
    }

    public void Dispose()
    {
        lastLogits?.Dispose();
        cache?.Dispose();
        memory?.Dispose();
    }

    /// <summary>Room kept free for the answer when deciding whether the window must slide.</summary>
    int Reserve => Math.Min(Options.Sampling.MaxNewTokens, model.Config.ContextLength / 2);

    void Forget()
    {
        cache?.Truncate(0);
        memory?.Clear();
        fed.Clear();
        pending.Clear();
    }

    /// <summary>The system prompt and the messages from <see cref="WindowStart"/> on, encoded.</summary>
    int[] WindowIds(bool addGenerationPrompt)
    {
        var window = messages.Take(FirstTurn).Concat(messages.Skip(WindowStart)).ToList();
        return ChatTemplate.Encode(tokenizer, window, addGenerationPrompt).Ids;
    }

    /// <summary>Drops the oldest whole turns until the window plus the answer's room fits; the newest user message always stays.</summary>
    void SlideWindow(int? extra = null)
    {
        int context = model.Config.ContextLength;
        int generationPrompt = extra ?? 1;
        while (WindowStart < messages.Count - 1 && WindowIds(false).Length + generationPrompt + Reserve > context)
        {
            WindowStart++;
            while (WindowStart < messages.Count - 1 && messages[WindowStart].Role != "user") WindowStart++; // whole turns only
        }
        int needed = WindowIds(false).Length + generationPrompt;
        if (needed >= context)
            throw new UserError($"The system prompt and the last message alone need {needed} tokens but the model's context is {context}; send a shorter message.");
        Forget();
    }

    /// <summary>Runs new tokens through the model, keeping the logits of the last one.</summary>
    void Feed(int[] ids)
    {
        if (ids.Length == 0) return;
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        Tensor logits;
        if (cache is not null)
            logits = model.Forward(Ids(ids), cache);
        else
        {
            logits = null!;
            // A recurrent model takes the tokens segment by segment; the memory carries the rest.
            for (int start = 0; start < ids.Length; start += model.Config.ContextLength)
                logits = model.ForwardSegment(Ids(ids[start..Math.Min(ids.Length, start + model.Config.ContextLength)]), memory!);
        }
        lastLogits?.Dispose();
        lastLogits = logits.select(1, -1).MoveToOuterDisposeScope();
        fed.AddRange(ids);
    }

    int Sample(LogitsProcessor processor, bool allowStop)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var history = Options.Sampling.RepetitionPenalty != 1.0 && fed.Count > 0 ? Ids([.. fed]) : null;
        var logits = allowStop ? lastLogits! : lastLogits!.index_fill(-1, Ids([.. stopIds]).squeeze(0), double.NegativeInfinity);
        return (int)processor.Next(logits, history).item<long>();
    }

    Tensor Ids(int[] ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);

    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    sealed record SavedSession(
        [property: JsonPropertyName("messages")] List<ChatMessage> Messages,
        [property: JsonPropertyName("usage")] List<TurnUsage> Usage,
        [property: JsonPropertyName("window_start")] int WindowStart);
}
