using System.Collections.Concurrent;
using System.Threading.Channels;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Server;

/// <summary>How many sequences decode together and how many finished conversations stay cached.</summary>
public sealed record EngineOptions
{
    /// <summary>Sequences decoded in one forward pass at most; further requests wait for a free row.</summary>
    public int MaxBatch { get; init; } = 16;
    /// <summary>Extra cache slots that keep finished sequences' keys/values for prefix reuse by a later turn.</summary>
    public int KeptSequences { get; init; } = 16;

    public EngineOptions Validate()
    {
        if (MaxBatch is < 1 or > 1024) throw new UserError($"The batch size must be between 1 and 1024 (got {MaxBatch}).");
        if (KeptSequences is < 0 or > 4096) throw new UserError($"The number of kept sequences must be between 0 and 4096 (got {KeptSequences}).");
        return this;
    }
}

/// <summary>What one choice produced: its tokens (stop tokens excluded), text (cut before a stop string) and why it ended.</summary>
public sealed record ChoiceResult(int[] Tokens, string Text, FinishReason Reason);

/// <summary>One choice of a request as it streams: text pieces as they are decoded, then the result.</summary>
public sealed class ChoiceStream
{
    internal readonly Channel<GeneratedToken> Channel = System.Threading.Channels.Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleWriter = true }); // not SingleReader: that channel cannot report Count, which the writers use to coalesce flushes
    internal readonly TaskCompletionSource<ChoiceResult> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Tokens with the text each completed (a token id of -1 carries held-back text at the end).</summary>
    public ChannelReader<GeneratedToken> Tokens => Channel.Reader;
    public Task<ChoiceResult> Completion => Done.Task;
}

/// <summary>A submitted request: its choices stream independently; prompt metering is known once it has been prefilled.</summary>
public sealed class GenerationJob
{
    internal GenerationJob(int promptTokens, IReadOnlyList<ChoiceStream> choices) => (PromptTokens, Choices) = (promptTokens, choices);

    public int PromptTokens { get; }
    /// <summary>Prompt tokens whose keys/values came from an earlier sequence's cache instead of being computed (set before the first token is written).</summary>
    public int CachedTokens { get; internal set; }
    public IReadOnlyList<ChoiceStream> Choices { get; }
    public Task<ChoiceResult[]> Completion => Task.WhenAll(Choices.Select(c => c.Completion));
}

/// <summary>
/// Continuous batching on the inference thread. Requests join a running batch between decode
/// steps (their prompt is prefilled into a free cache slot), every step runs one forward pass
/// for all active sequences (<see cref="BatchedDecoder.Decode"/>, rows at their own positions),
/// and a sequence leaves as soon as it ends, freeing its row for the next request. Active rows
/// always sit in the adjacent slots 0..n−1, so a step reads their keys/values as one slice
/// instead of gathering scattered slots: a row that leaves is filled by moving the last row's
/// cache into its place. Finished text-only sequences are copied into a separate region of kept
/// slots: a new request whose prompt starts with the same tokens (the next turn of a
/// conversation re-sends the whole history) copies the longest matching kept prefix into its row
/// and only computes the rest. The n choices of one request are prefilled once and their cache
/// copied. Pictures are embedded with the vision-language model's <see cref="ImageSpanEncoder"/>;
/// their sequences are never kept (placeholder ids do not identify a picture).
/// </summary>
public sealed class InferenceEngine : IBatchStepper, IDisposable
{
    readonly GptModel model;
    readonly ITokenizer tokenizer;
    readonly ImageSpanEncoder? images;
    readonly EngineOptions options;
    readonly BatchedDecoder decoder;
    readonly SlotKvCache cache;
    readonly ConcurrentQueue<Pending> pending = new();
    /// <summary>The running sequences; the one at index i decodes in slot i.</summary>
    readonly List<Sequence> active = [];
    /// <summary>Kept finished sequences, in slots MaxBatch + i of the cache.</summary>
    readonly Kept[] kept;
    long clock;

    public InferenceEngine(GptModel model, ITokenizer tokenizer, ImageSpanEncoder? images = null, EngineOptions? options = null)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.images = images;
        this.options = (options ?? new EngineOptions()).Validate();
        model.eval();
        decoder = new BatchedDecoder(model);
        cache = decoder.NewCache(this.options.MaxBatch + this.options.KeptSequences);
        kept = Enumerable.Range(0, this.options.KeptSequences).Select(_ => new Kept()).ToArray();
        Worker.Attach(this);
    }

    /// <summary>The thread all model code runs on; other model work (scoring) goes through <see cref="InferenceWorker.RunAsync{T}(Func{T})"/>.</summary>
    public InferenceWorker Worker { get; } = new();
    public GptModel Model => model;
    public ITokenizer Tokenizer => tokenizer;
    /// <summary>The vision-language model's span encoder, or null for a text-only model.</summary>
    public ImageSpanEncoder? Images => images;
    public EngineOptions Options => options;
    /// <summary>Bytes of the slot KV cache: (MaxBatch + KeptSequences) sequences of the full context, allocated at start.</summary>
    public long CacheBytes => cache.Bytes;

    /// <summary>Requests waiting to join the batch.</summary>
    public int Waiting => pending.Count;
    /// <summary>Sequences in the running batch (read on the inference thread, approximate elsewhere).</summary>
    public int Running => Volatile.Read(ref running);
    int running;
    /// <summary>Decode steps run so far and the rows they carried in total (their ratio is the mean batch size).</summary>
    public long Steps => Interlocked.Read(ref steps);
    public long StepRows => Interlocked.Read(ref stepRows);
    long steps, stepRows;

    /// <summary>
    /// Queues a prompt (with the pictures its image spans stand for, which the engine now owns
    /// and disposes) for one choice per entry of <paramref name="choices"/>. Cancelling ends
    /// every choice at the next step.
    /// </summary>
    public GenerationJob Submit(int[] prompt, IReadOnlyList<Tensor> pictures, IReadOnlyList<SamplingOptions> choices, CancellationToken cancel = default)
    {
        int context = model.Config.ContextLength;
        if (prompt.Length == 0) throw new UserError("The prompt is empty; give at least one token of text.");
        if (prompt.Length >= context) throw new UserError($"The prompt is {prompt.Length} tokens but the model's context is {context}; shorten it.");
        if (choices.Count < 1 || choices.Count > options.MaxBatch) throw new UserError($"A request may ask for 1 to {options.MaxBatch} choices (got {choices.Count}).");
        if (pictures.Count > 0 && images is null) throw new UserError("This model reads no images; send text only or serve a vision-language model from `gpt4sharp vlm train`.");
        foreach (var c in choices) c.Validate();
        var job = new GenerationJob(prompt.Length, choices.Select(_ => new ChoiceStream()).ToList());
        pending.Enqueue(new Pending(job, prompt, pictures, choices, cancel));
        Worker.Wake();
        return job;
    }

    public bool HasWork => !pending.IsEmpty || active.Count > 0;

    /// <summary>One scheduling step on the inference thread: admit waiting requests, then decode one token for every active sequence.</summary>
    public void Step()
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try { StepOnce(); }
        finally { Interlocked.Add(ref busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks); }
    }

    /// <summary>Time the inference thread has spent in batch steps (prefill, decode, sampling).</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref busyTicks));
    long busyTicks;

    void StepOnce()
    {
        using var inference = torch.inference_mode();
        Admit();
        foreach (var s in active.Where(s => s.Cancel.IsCancellationRequested).ToList()) Cancel(s);
        if (active.Count == 0) return;

        var batch = active.ToArray(); // rows in slot order 0..n-1
        try
        {
            using var scope = torch.NewDisposeScope();
            var logits = decoder.Decode(cache, [.. batch.Select(s => s.Slot)], [.. batch.Select(s => s.Next)]).to(ScalarType.Float32);
            foreach (var s in batch) s.Cached?.Add(s.Next);
            Interlocked.Increment(ref steps);
            Interlocked.Add(ref stepRows, batch.Length);
            var chosen = Choose(batch, logits);
            for (int r = 0; r < batch.Length; r++) Advance(batch[r], chosen[r]);
        }
        catch (Exception e)
        {
            foreach (var s in batch) Fail(s, e);
        }
        Volatile.Write(ref running, active.Count);
    }

    /// <summary>Picks each row's next token in one batched pass; rows with a repetition penalty sample alone with their history.</summary>
    static int[] Choose(IReadOnlyList<Sequence> batch, Tensor logits)
    {
        var chosen = BatchSampler.Choose(logits, [.. batch.Select(s => s.Sampler)]);
        var result = new int[batch.Count];
        for (int r = 0; r < batch.Count; r++)
            result[r] = chosen[r] >= 0 ? (int)chosen[r] : batch[r].SampleWithHistory(logits.narrow(0, r, 1));
        return result;
    }

    void Admit()
    {
        while (pending.TryPeek(out var request))
        {
            if (request.Cancel.IsCancellationRequested)
            {
                pending.TryDequeue(out _);
                request.DisposePictures();
                foreach (var choice in request.Job.Choices) { choice.Channel.Writer.TryComplete(new OperationCanceledException(request.Cancel)); choice.Done.TrySetCanceled(request.Cancel); }
                continue;
            }
            if (active.Count + request.Choices.Count > options.MaxBatch) break; // waits for rows to free up
            pending.TryDequeue(out _);
            Prefill(request);
        }
        Volatile.Write(ref running, active.Count);
    }

    void Prefill(Pending request)
    {
        var prompt = request.Prompt;
        bool text = request.Pictures.Count == 0;
        int first = active.Count; // the request's rows take the next adjacent slots
        var sequences = new List<Sequence>();
        try
        {
            using var scope = torch.NewDisposeScope();
            int reuse = text ? ReusePrefix(prompt, first) : 0;
            Tensor logits;
            if (text)
                logits = decoder.Prefill(cache, first, prompt[reuse..]);
            else
            {
                cache.Truncate(first, 0);
                logits = decoder.PrefillEmbeddings(cache, first, images!.Embed(prompt, request.Pictures));
            }
            logits = logits.to(ScalarType.Float32);
            request.Job.CachedTokens = reuse;
            for (int i = 1; i < request.Choices.Count; i++) cache.CopySlot(first, first + i);
            for (int i = 0; i < request.Choices.Count; i++)
            {
                var s = new Sequence(request, i, first + i, tokenizer, text ? [.. prompt] : null);
                sequences.Add(s);
                active.Add(s);
            }
            foreach (var s in sequences)
                if (s.Options.MaxNewTokens == 0) Finish(s, FinishReason.Length);
                else Advance(s, Choose([s], logits)[0]);
        }
        catch (Exception e)
        {
            foreach (var s in sequences) Fail(s, e);
            foreach (var choice in request.Job.Choices) { choice.Channel.Writer.TryComplete(e); choice.Done.TrySetException(e); }
        }
        finally { request.DisposePictures(); }
    }

    /// <summary>
    /// Copies into <paramref name="slot"/> the keys/values of the kept sequence sharing the longest
    /// prefix with <paramref name="prompt"/> (at least one prompt token is always recomputed, for its
    /// logits); returns how many positions it holds then (0 when nothing matches).
    /// </summary>
    int ReusePrefix(int[] prompt, int slot)
    {
        int best = -1, bestLength = 0;
        for (int i = 0; i < kept.Length; i++)
        {
            if (kept[i].Tokens is not { } tokens) continue;
            int n = CommonPrefix(tokens, prompt, prompt.Length - 1);
            if (n > bestLength) (best, bestLength) = (i, n);
        }
        if (best < 0)
        {
            cache.Truncate(slot, 0);
            return 0;
        }
        cache.CopySlot(options.MaxBatch + best, slot, bestLength);
        kept[best].LastUsed = ++clock;
        return bestLength;
    }

    static int CommonPrefix(List<int> a, int[] b, int limit)
    {
        int n = Math.Min(Math.Min(a.Count, b.Length), limit);
        int i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /// <summary>Copies a finished sequence's keys/values into a free kept slot, or over the least recently used one.</summary>
    void Keep(Sequence s)
    {
        if (s.Cached is null || kept.Length == 0) return;
        int target = Array.FindIndex(kept, k => k.Tokens is null);
        if (target < 0) target = Enumerable.Range(0, kept.Length).MinBy(i => kept[i].LastUsed);
        cache.CopySlot(s.Slot, options.MaxBatch + target);
        kept[target].Tokens = s.Cached;
        kept[target].LastUsed = ++clock;
    }

    /// <summary>Handles a sequence's newly chosen token: it ends the sequence or is streamed and fed at the next step.</summary>
    void Advance(Sequence s, int token)
    {
        if (s.StopTokens.Contains(token)) { Finish(s, FinishReason.Stop); return; }
        s.Tokens.Add(token);
        var (emit, stopped) = s.Text.Push(token);
        s.Choice.Channel.Writer.TryWrite(new GeneratedToken(token, emit));
        if (stopped) Finish(s, FinishReason.Stop);
        else if (s.Tokens.Count >= s.Options.MaxNewTokens) Finish(s, FinishReason.Length);
        else if (cache.Length(s.Slot) + 1 > cache.Capacity) Finish(s, FinishReason.ContextFull);
        else s.Next = token;
    }

    void Finish(Sequence s, FinishReason reason)
    {
        var (rest, stopped) = s.Text.Finish();
        if (stopped) reason = FinishReason.Stop;
        if (rest.Length > 0) s.Choice.Channel.Writer.TryWrite(new GeneratedToken(-1, rest));
        s.Choice.Channel.Writer.TryComplete();
        s.Choice.Done.TrySetResult(new ChoiceResult([.. s.Tokens], s.Text.Text, reason));
        Leave(s, keep: true);
    }

    void Cancel(Sequence s)
    {
        s.Choice.Channel.Writer.TryComplete(new OperationCanceledException(s.Cancel));
        s.Choice.Done.TrySetCanceled(s.Cancel);
        Leave(s, keep: true);
    }

    void Fail(Sequence s, Exception e)
    {
        s.Choice.Channel.Writer.TryComplete(e);
        s.Choice.Done.TrySetException(e);
        Leave(s, keep: false);
    }

    /// <summary>Removes a sequence from the batch; the last row moves into its slot so the rows stay adjacent.</summary>
    void Leave(Sequence s, bool keep)
    {
        int index = active.IndexOf(s);
        if (index < 0) return;
        if (keep) Keep(s);
        s.Dispose();
        var last = active[^1];
        if (last != s)
        {
            cache.CopySlot(last.Slot, s.Slot);
            last.Slot = s.Slot;
            active[index] = last;
        }
        active.RemoveAt(active.Count - 1);
        cache.Truncate(active.Count, 0);
    }

    public void Dispose()
    {
        Worker.Dispose();
        foreach (var s in active.ToList()) Fail(s, new ObjectDisposedException(nameof(InferenceEngine)));
        while (pending.TryDequeue(out var request))
        {
            request.DisposePictures();
            foreach (var choice in request.Job.Choices) { choice.Channel.Writer.TryComplete(new ObjectDisposedException(nameof(InferenceEngine))); choice.Done.TrySetException(new ObjectDisposedException(nameof(InferenceEngine))); }
        }
        cache.Dispose();
        decoder.Dispose();
    }

    sealed class Kept
    {
        /// <summary>The tokens whose keys/values the kept slot holds, in order; null while the slot is free.</summary>
        public List<int>? Tokens;
        public long LastUsed;
    }

    sealed record Pending(GenerationJob Job, int[] Prompt, IReadOnlyList<Tensor> Pictures, IReadOnlyList<SamplingOptions> Choices, CancellationToken Cancel)
    {
        public void DisposePictures()
        {
            foreach (var p in Pictures) p.Dispose();
        }
    }

    /// <summary>One choice being decoded: its row, sampler, text state and the token to feed next.</summary>
    sealed class Sequence(Pending request, int index, int slot, ITokenizer tokenizer, List<int>? cached) : IDisposable
    {
        LogitsProcessor? processor;
        public BatchSampler.Row Sampler { get; } = new(request.Choices[index]);
        public ChoiceStream Choice { get; } = request.Job.Choices[index];
        public SamplingOptions Options { get; } = request.Choices[index];
        public HashSet<int> StopTokens { get; } = [.. request.Choices[index].StopTokens];
        public CancellationToken Cancel => request.Cancel;
        /// <summary>The cache slot, which is also the row's index in the batch; it moves when an earlier row leaves.</summary>
        public int Slot { get; set; } = slot;
        /// <summary>The tokens whose keys/values the slot holds (prompt, then fed tokens); null for sequences with pictures, which are never kept.</summary>
        public List<int>? Cached { get; } = cached;
        public List<int> Tokens { get; } = [];
        public TokenText Text { get; } = new(tokenizer, request.Choices[index].Stop);
        public int Next { get; set; }
        readonly int[] prompt = request.Prompt;

        /// <summary>The repetition penalty needs the tokens seen so far, so these rows use <see cref="LogitsProcessor"/> one by one.</summary>
        public int SampleWithHistory(Tensor logits)
        {
            using var scope = torch.NewDisposeScope();
            processor ??= new LogitsProcessor(Options);
            var history = torch.tensor([.. prompt.Concat(Tokens).Select(t => (long)t)], [1, prompt.Length + Tokens.Count], device: logits.device);
            return (int)processor.Next(logits, history).item<long>();
        }

        public void Dispose() => processor?.Dispose();
    }
}
