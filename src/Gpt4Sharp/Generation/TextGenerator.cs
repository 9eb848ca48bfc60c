using System.Runtime.CompilerServices;
using System.Text;
using Gpt4Sharp.Inference;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Generation;

/// <summary>
/// Autoregressive decoding with the KV cache: the prompt is encoded in one forward pass,
/// then each new token costs one position. Text streams token by token; a UTF-8 character
/// split across tokens is held back until complete. Generation never reads past the
/// model's context: a prompt longer than the context is a <see cref="UserError"/>, and a
/// full context ends generation with <see cref="FinishReason.ContextFull"/>. Dense fp32 models
/// on the CPU decode through <see cref="CpuDecoder"/> (with int8 weights when
/// <paramref name="weights"/> says so); other models through the module path.
/// </summary>
public sealed class TextGenerator(GptModel model, ITokenizer tokenizer, DecodeWeights weights = DecodeWeights.Fp32)
{
    public GptModel Model => model;
    public ITokenizer Tokenizer => tokenizer;

    /// <summary>Why the last <see cref="StreamAsync"/> ended.</summary>
    public FinishReason LastFinishReason { get; private set; }

    /// <summary>Generates a whole completion: (text, token ids, finish reason).</summary>
    public async Task<(string Text, int[] Tokens, FinishReason Reason)> GenerateAsync(string prompt, SamplingOptions options, CancellationToken cancel = default)
    {
        var text = new StringBuilder();
        var ids = new List<int>();
        await foreach (var token in StreamAsync(tokenizer.Encode(prompt, allowSpecial: true), options, cancel))
        {
            ids.Add(token.Id);
            text.Append(token.Text);
        }
        return (text.ToString(), ids.ToArray(), LastFinishReason);
    }

    /// <summary>Streams the completion of <paramref name="prompt"/> token by token.</summary>
    public async IAsyncEnumerable<GeneratedToken> StreamAsync(int[] prompt, SamplingOptions options, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        options.Validate();
        int context = model.Config.ContextLength;
        if (prompt.Length == 0) throw new UserError("The prompt is empty; give at least one token of text.");
        if (prompt.Length > context)
            throw new UserError($"The prompt is {prompt.Length} tokens but the model's context is {context}; shorten it.");

        model.eval();
        using var state = new DecodeState(model, Decoder(), Math.Min(context, prompt.Length + options.MaxNewTokens));
        using var processor = new LogitsProcessor(options);
        var decoder = Encoding.UTF8.GetDecoder();
        var stops = new StopMatcher(options.Stop);
        var stopTokens = options.StopTokens.ToHashSet();
        var history = new List<long>(prompt.Select(t => (long)t));
        int[] nextInput = prompt;
        LastFinishReason = FinishReason.Length;

        for (int produced = 0; produced < options.MaxNewTokens; produced++)
        {
            cancel.ThrowIfCancellationRequested();
            if (state.Length + nextInput.Length > context) { LastFinishReason = FinishReason.ContextFull; break; }
            int next = NextToken(state, nextInput, processor, history, options.RepetitionPenalty != 1.0);
            if (stopTokens.Contains(next)) { LastFinishReason = FinishReason.Stop; break; }
            history.Add(next);
            nextInput = [next];

            var bytes = tokenizer.TokenBytes(next);
            var chars = new char[decoder.GetCharCount(bytes, flush: false)];
            decoder.GetChars(bytes, chars, flush: false);
            var (emit, stopped) = stops.Push(new string(chars));
            yield return new GeneratedToken(next, emit);
            if (stopped) { LastFinishReason = FinishReason.Stop; yield break; }
            await Task.Yield(); // let a streaming consumer (console, HTTP) write between tokens
        }
        // An incomplete UTF-8 sequence left at the end decodes to U+FFFD, as Encoding.UTF8 does.
        var rest = new char[decoder.GetCharCount([], flush: true)];
        decoder.GetChars([], rest, flush: true);
        var (last, ended) = stops.Push(new string(rest));
        if (ended) LastFinishReason = FinishReason.Stop;
        var tail = ended ? last : last + stops.Flush();
        if (tail.Length > 0) yield return new GeneratedToken(-1, tail);
    }

    CpuDecoder? decoder;

    /// <summary>The CPU decoder for this generator's model, built once (int8 weights are quantised once), or null when the model decodes through the module path.</summary>
    CpuDecoder? Decoder() => CpuDecoder.Supports(model, out _) ? decoder ??= new CpuDecoder(model, weights) : null;

    int NextToken(DecodeState state, int[] input, LogitsProcessor processor, List<long> history, bool needsHistory)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var logits = state.Logits(input);
        var seen = needsHistory ? torch.tensor(history.ToArray(), device: model.Device).unsqueeze(0) : null;
        return (int)processor.Next(logits, seen).item<long>();
    }

    /// <summary>The decoding state of one sequence: the CPU decoder's when the model allows it, else a KV cache for the module path.</summary>
    sealed class DecodeState : IDisposable
    {
        readonly GptModel model;
        readonly CpuDecoder.DecodeSequence? sequence;
        readonly KvCache? cache;

        public DecodeState(GptModel model, CpuDecoder? decoder, int capacity)
        {
            this.model = model;
            if (decoder is not null) sequence = decoder.NewSequence(capacity);
            else cache = model.NewCache(batch: 1, capacity: capacity);
        }

        public int Length => sequence?.Length ?? cache!.Length;

        /// <summary>Feeds <paramref name="input"/> (the prompt, then one token at a time); returns the next-token logits [1, vocab].</summary>
        public Tensor Logits(int[] input)
        {
            if (sequence is not null)
            {
                var logits = sequence.Length == 0 ? sequence.Prefill(input) : sequence.Step(input.Single());
                return torch.tensor(logits.ToArray()).unsqueeze(0);
            }
            var ids = torch.tensor(input.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);
            return model.Forward(ids, cache).select(1, -1);
        }

        public void Dispose()
        {
            sequence?.Dispose();
            cache?.Dispose();
        }
    }

    /// <summary>
    /// Holds back text that could be the start of a stop sequence, so a stop string never
    /// leaks into the output even when it arrives split across tokens.
    /// </summary>
    sealed class StopMatcher(IReadOnlyList<string> stops)
    {
        readonly StringBuilder pending = new();

        public (string Emit, bool Stopped) Push(string text)
        {
            pending.Append(text);
            var s = pending.ToString();
            foreach (var stop in stops)
            {
                int at = s.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0) { pending.Clear(); return (s[..at], true); }
            }
            int hold = stops.Count == 0 ? 0 : stops.Max(stop => LongestSuffixThatPrefixes(s, stop));
            pending.Clear().Append(s[^hold..]);
            return (s[..^hold], false);
        }

        public string Flush()
        {
            var s = pending.ToString();
            pending.Clear();
            return s;
        }

        static int LongestSuffixThatPrefixes(string s, string stop)
        {
            for (int n = Math.Min(s.Length, stop.Length - 1); n > 0; n--)
                if (string.CompareOrdinal(s, s.Length - n, stop, 0, n) == 0) return n;
            return 0;
        }
    }
}
