using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Inference;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Chat;

/// <summary>A picture attached to a user message: the file it came from (what a saved chat keeps) and its pixels [3, S, S].</summary>
public sealed record ChatImage(string Path, Tensor Pixels);

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
/// processes its new tokens. Text-only dense fp32 models on the CPU keep their keys and values in a
/// <see cref="CpuDecoder"/> sequence (the fast batch-1 path <see cref="TextGenerator"/> uses too);
/// other dense and sparse models keep one <see cref="KvCache"/>. When the next turn would not fit the context (prompt plus room for the answer), the oldest whole
/// turns leave the window (the system prompt stays) and what remains is encoded once — a
/// documented sliding window, never an exception. Recurrent models keep a
/// <see cref="SegmentMemory"/> of the last MemoryLength positions and never fill up.
/// Turns are framed with <see cref="ChatTemplate"/>; every turn is metered in <see cref="Usage"/>.
/// Given the <see cref="ImageSpanEncoder"/> of a vision-language model, user messages may carry
/// pictures: they are framed with <see cref="MultimodalChat"/> (text-only turns encode
/// identically), their spans are embedded and fed through <c>ForwardEmbeddings</c> into the same
/// cache, and a window re-encode embeds them again. The session depends on Vision directly
/// rather than through an interface: the span framing itself lives there, so an abstraction
/// would only rename it.
/// </summary>
public sealed class ChatSession : IDisposable
{
    readonly GptModel model;
    readonly ITokenizer tokenizer;
    readonly List<ChatMessage> messages = [];
    /// <summary>Pictures of user messages, by message index (messages are only ever appended or cut from the end).</summary>
    readonly Dictionary<int, IReadOnlyList<ChatImage>> pictures = [];
    readonly ImageSpanEncoder? images;
    readonly List<TurnUsage> usage = [];
    readonly CpuDecoder.DecodeSequence? sequence;
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

    /// <param name="images">The vision-language model's span encoder (<c>VlmBundle.Images</c>); null for a text-only model.</param>
    public ChatSession(GptModel model, ITokenizer tokenizer, ChatSessionOptions? options = null, ImageSpanEncoder? images = null)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.images = images;
        if (images is not null && model.Config.Attention == AttentionKind.Recurrent)
            throw new UserError("Image chat needs a dense or sparse decoder; this vision-language model's decoder is recurrent.");
        Options = options ?? new ChatSessionOptions();
        Options.Sampling.Validate();
        endOfTurn = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
            ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {SpecialTokens.EndOfTurn} token; chat needs a tokenizer trained with 'gpt4sharp tokenizer train'.");
        stopIds = SpecialTokens.All.Select(tokenizer.SpecialTokenId).OfType<int>().ToHashSet();
        if (model.Config.Attention == AttentionKind.Recurrent) memory = model.NewMemory();
        else if (images is null && CpuDecoder.Supports(model, out _)) sequence = new CpuDecoder(model).NewSequence();
        else cache = model.NewCache();
        model.eval();
        if (Options.SystemPrompt is { Length: > 0 } system) messages.Add(new ChatMessage("system", system));
    }

    public ChatSessionOptions Options { get; }
    public IReadOnlyList<ChatMessage> Messages => messages;
    /// <summary>True when the model reads pictures (it was given an <see cref="ImageSpanEncoder"/>).</summary>
    public bool ReadsImages => images is not null;
    /// <summary>The pictures attached to message <paramref name="index"/> (empty for most).</summary>
    public IReadOnlyList<ChatImage> ImagesOf(int index) => pictures.GetValueOrDefault(index) ?? [];
    public IReadOnlyList<TurnUsage> Usage => usage;
    /// <summary>Index of the oldest message after the system prompt still in the model's window.</summary>
    public int WindowStart { get; private set; }
    /// <summary>Logits [1, vocab] after the last token the model processed (null before the first turn); the session owns them.</summary>
    public Tensor? LastLogits => lastLogits;
    /// <summary>Positions the model currently remembers (cache length or memory length).</summary>
    public int CachedTokens => sequence?.Length ?? cache?.Length ?? memory!.Length;

    /// <summary>True when the model's state has the context's size (KV cache or decoder sequence); a recurrent memory never fills.</summary>
    bool Windowed => memory is null;

    bool HasSystem => messages.Count > 0 && messages[0].Role == "system";
    int FirstTurn => HasSystem ? 1 : 0;

    /// <summary>Loads a picture file for the next message with the model's image preparation; bad files and text-only models give a <see cref="UserError"/>.</summary>
    public ChatImage LoadImage(string path)
    {
        if (images is null) throw new UserError("This model reads no images; train one with `gpt4sharp vlm train`.");
        return new ChatImage(path, images.LoadImage(path));
    }

    public IAsyncEnumerable<GeneratedToken> SendAsync(string userMessage, CancellationToken cancel = default) => SendAsync(userMessage, [], cancel);

    /// <summary>Sends a user message (with pictures placed before its text) and streams the answer token by token. Cancelling ends the answer early (it is kept, marked <see cref="TurnEnd.Cancelled"/>); it never throws for that. The session owns the pictures' tensors from here on.</summary>
    public async IAsyncEnumerable<GeneratedToken> SendAsync(string userMessage, IReadOnlyList<ChatImage> userImages, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        if (userImages.Count > 0 && images is null) throw new UserError("This model reads no images; train one with `gpt4sharp vlm train`.");
        var clock = Stopwatch.StartNew();
        var sampling = Options.Sampling;
        int context = model.Config.ContextLength;
        if (WindowStart < FirstTurn) WindowStart = FirstTurn;
        messages.Add(new ChatMessage("user", userMessage));
        if (userImages.Count > 0) pictures[messages.Count - 1] = [.. userImages];
        var (userIds, userPixels) = Encode([messages.Count - 1], addGenerationPrompt: true);

        bool slid = false;
        int[] newIds;
        IReadOnlyList<Tensor> newPixels = userPixels;
        if (!Options.ReuseCache)
        {
            Forget();
            (newIds, newPixels) = WindowIds(addGenerationPrompt: true);
            if (Windowed && newIds.Length + Reserve > context)
            {
                SlideWindow();
                slid = true;
                (newIds, newPixels) = WindowIds(addGenerationPrompt: true);
            }
        }
        else
        {
            var head = fed.Count == 0 && HasSystem ? ChatTemplate.Encode(tokenizer, [messages[0]]).Ids : [];
            newIds = [.. pending, .. head, .. userIds];
            if (Windowed && CachedTokens + newIds.Length + Reserve > context)
            {
                SlideWindow();
                slid = true;
                (newIds, newPixels) = WindowIds(addGenerationPrompt: true);
            }
        }
        pending.Clear();
        int cachedBefore = CachedTokens;
        Feed(newIds, newPixels);
        int promptTokens = cachedBefore + newIds.Length;

        using var processor = new LogitsProcessor(sampling);
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
            if (Windowed && CachedTokens + 1 > context) { end = TurnEnd.ContextFull; pending.Add(next); break; }
            Feed([next], []);
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
    public Task<(string Answer, TurnUsage Usage)> AskAsync(string userMessage, CancellationToken cancel = default) => AskAsync(userMessage, [], cancel);

    /// <summary>Sends a message with pictures and waits for the whole answer.</summary>
    public async Task<(string Answer, TurnUsage Usage)> AskAsync(string userMessage, IReadOnlyList<ChatImage> userImages, CancellationToken cancel = default)
    {
        await foreach (var _ in SendAsync(userMessage, userImages, cancel)) { }
        return (messages[^1].Content, usage[^1]);
    }

    public int TotalPromptTokens => usage.Sum(u => u.PromptTokens);
    public int TotalCompletionTokens => usage.Sum(u => u.CompletionTokens);
    public decimal TotalCost => usage.Sum(u => u.Cost);

    /// <summary>Starts over: the system prompt stays, the conversation, usage and model state go.</summary>
    public void Reset()
    {
        messages.RemoveRange(FirstTurn, messages.Count - FirstTurn);
        DisposePictures();
        usage.Clear();
        WindowStart = FirstTurn;
        Forget();
    }

    /// <summary>Writes the conversation and its usage as JSON (atomically); pictures are kept as their file paths and read again on load; the model state is rebuilt on load.</summary>
    public void Save(string path)
    {
        var paths = pictures.Count == 0 ? null : pictures.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value.Select(i => i.Path).ToList());
        var saved = new SavedSession(messages.ToList(), usage.ToList(), WindowStart, paths);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(saved, JsonOptions));
    }

    /// <summary>Opens a conversation written by <see cref="Save"/> and re-encodes its window once so the next turn is fast.</summary>
    public static ChatSession Load(string path, GptModel model, ITokenizer tokenizer, ChatSessionOptions? options = null, ImageSpanEncoder? images = null)
    {
        if (!File.Exists(path)) throw new UserError($"Chat file {path} does not exist; save one with /save FILE first.");
        SavedSession? saved;
        try { saved = JsonSerializer.Deserialize<SavedSession>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new UserError($"Chat file {path} is not a saved chat ({e.Message}).", e); }
        if (saved?.Messages is null || saved.Usage is null || saved.Messages.Any(m => m?.Role is not ("system" or "user" or "assistant") || m.Content is null))
            throw new UserError($"Chat file {path} is not a saved chat; it needs \"messages\" with system, user or assistant roles and \"usage\".");
        if (saved.Images is { Count: > 0 } savedImages)
        {
            if (images is null) throw new UserError($"Chat file {path} has pictures but this model reads no images; load it with the vision-language model it was saved from.");
            if (savedImages.Keys.Any(i => i < 0 || i >= saved.Messages.Count || saved.Messages[i].Role != "user"))
                throw new UserError($"Chat file {path} attaches pictures to messages that are not user messages; it is not a saved chat.");
        }
        var session = new ChatSession(model, tokenizer, (options ?? new ChatSessionOptions()) with { SystemPrompt = null }, images);
        foreach (var (index, files) in saved.Images ?? [])
        {
            try { session.pictures[index] = [.. files.Select(session.LoadImage)]; }
            catch { session.Dispose(); throw; }
        }
        session.messages.AddRange(saved.Messages);
        session.usage.AddRange(saved.Usage);
        session.WindowStart = Math.Clamp(saved.WindowStart, session.FirstTurn, session.messages.Count);
        if (session.Options.ReuseCache && session.messages.Count > 0)
        {
            var (ids, pixels) = session.WindowIds(addGenerationPrompt: false);
            // A window that no longer fits (e.g. saved from a larger model) slides now rather than on the next turn.
            if (session.Windowed && ids.Length + session.Reserve > model.Config.ContextLength)
            {
                session.SlideWindow(extra: 0);
                (ids, pixels) = session.WindowIds(addGenerationPrompt: false);
            }
            session.Feed(ids, pixels);
        }
        return session;
    }

    public void Dispose()
    {
        lastLogits?.Dispose();
        sequence?.Dispose();
        cache?.Dispose();
        memory?.Dispose();
        DisposePictures();
    }

    void DisposePictures()
    {
        foreach (var image in pictures.Values.SelectMany(p => p)) image.Pixels.Dispose();
        pictures.Clear();
    }

    /// <summary>Room kept free for the answer when deciding whether the window must slide.</summary>
    int Reserve => Math.Min(Options.Sampling.MaxNewTokens, model.Config.ContextLength / 2);

    void Forget()
    {
        cache?.Truncate(0);
        sequence?.Clear();
        memory?.Clear();
        fed.Clear();
        pending.Clear();
    }

    /// <summary>The system prompt and the messages from <see cref="WindowStart"/> on, encoded, with the pictures of their spans in order.</summary>
    (int[] Ids, IReadOnlyList<Tensor> Pixels) WindowIds(bool addGenerationPrompt) =>
        Encode([.. Enumerable.Range(0, FirstTurn), .. Enumerable.Range(WindowStart, messages.Count - WindowStart)], addGenerationPrompt);

    /// <summary>Frames the messages at <paramref name="indices"/>: with image spans for a vision-language model (text-only turns encode exactly as ChatTemplate does), else with ChatTemplate.</summary>
    (int[] Ids, IReadOnlyList<Tensor> Pixels) Encode(IReadOnlyList<int> indices, bool addGenerationPrompt)
    {
        if (images is null)
            return (ChatTemplate.Encode(tokenizer, [.. indices.Select(i => messages[i])], addGenerationPrompt).Ids, []);
        var framed = indices.Select(i => new MultimodalMessage(messages[i].Role, messages[i].Content, [.. ImagesOf(i).Select(p => p.Pixels)])).ToList();
        var encoding = MultimodalChat.Encode(tokenizer, framed, images.TokensPerImage, addGenerationPrompt);
        return (encoding.Ids, encoding.Images);
    }

    /// <summary>Drops the oldest whole turns until the window plus the answer's room fits; the newest user message always stays.</summary>
    void SlideWindow(int? extra = null)
    {
        int context = model.Config.ContextLength;
        int generationPrompt = extra ?? 1;
        while (WindowStart < messages.Count - 1 && WindowIds(false).Ids.Length + generationPrompt + Reserve > context)
        {
            WindowStart++;
            while (WindowStart < messages.Count - 1 && messages[WindowStart].Role != "user") WindowStart++; // whole turns only
        }
        int needed = WindowIds(false).Ids.Length + generationPrompt;
        if (needed >= context)
            throw new UserError($"The system prompt and the last message alone need {needed} tokens but the model's context is {context}; send a shorter message.");
        Forget();
    }

    /// <summary>Runs new tokens through the model, keeping the logits of the last one; ids with image spans go in as embeddings carrying the pictures' features.</summary>
    void Feed(int[] ids, IReadOnlyList<Tensor> pixels)
    {
        if (ids.Length == 0) return;
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        Tensor last;
        if (sequence is not null)
            last = torch.tensor(sequence.Append(ids).ToArray()).unsqueeze(0);
        else if (pixels.Count > 0)
            last = model.ForwardEmbeddings(images!.Embed(ids, pixels), cache).select(1, -1);
        else if (cache is not null)
            last = model.Forward(Ids(ids), cache).select(1, -1);
        else
        {
            Tensor logits = null!;
            // A recurrent model takes the tokens segment by segment; the memory carries the rest.
            for (int start = 0; start < ids.Length; start += model.Config.ContextLength)
                logits = model.ForwardSegment(Ids(ids[start..Math.Min(ids.Length, start + model.Config.ContextLength)]), memory!);
            last = logits.select(1, -1);
        }
        lastLogits?.Dispose();
        lastLogits = last.MoveToOuterDisposeScope();
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
        [property: JsonPropertyName("window_start")] int WindowStart,
        [property: JsonPropertyName("images"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<int, List<string>>? Images);
}
