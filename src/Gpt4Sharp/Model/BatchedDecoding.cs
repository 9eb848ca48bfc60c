using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>
/// Keys and values for many independent sequences, one per slot, each with its own length:
/// what continuous batching needs, where rows join, leave and sit at different positions.
/// Storage is [slots, kvHeads, capacity, headDim] per layer, allocated once; a slot keeps its
/// contents after its sequence ends, so a later sequence sharing a prefix can continue from it.
/// The cache owns its tensors (outside any dispose scope).
/// </summary>
public sealed class SlotKvCache : IDisposable
{
    readonly Tensor[] keys, values;
    readonly int[] lengths;

    public SlotKvCache(GptConfig config, int slots, int capacity, Device device, ScalarType dtype)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), "A slot cache needs at least one slot.");
        Capacity = capacity;
        lengths = new int[slots];
        keys = new Tensor[config.Layers];
        values = new Tensor[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            keys[i] = torch.zeros([slots, config.KvHeads, capacity, config.HeadDim], dtype, device).DetachFromDisposeScope();
            values[i] = torch.zeros([slots, config.KvHeads, capacity, config.HeadDim], dtype, device).DetachFromDisposeScope();
        }
    }

    public int Slots => lengths.Length;
    /// <summary>Memory the keys and values take (allocated up front).</summary>
    public long Bytes => keys.Concat(values).Sum(t => t.NumberOfElements * t.ElementSize);
    public int Capacity { get; }

    /// <summary>Positions stored in <paramref name="slot"/>: the position of its next token.</summary>
    public int Length(int slot) => lengths[slot];

    /// <summary>Keeps only the first <paramref name="length"/> positions of a slot (0 empties it; a shorter length reuses a prefix).</summary>
    public void Truncate(int slot, int length)
    {
        if (length < 0 || length > lengths[slot]) throw new ArgumentOutOfRangeException(nameof(length));
        lengths[slot] = length;
    }

    /// <summary>
    /// Copies the first <paramref name="length"/> stored positions (all when null) of slot
    /// <paramref name="from"/> into slot <paramref name="to"/>, which then holds exactly those:
    /// n samples of one prompt share its prefill, and a batch keeps its rows in adjacent slots.
    /// </summary>
    public void CopySlot(int from, int to, int? length = null)
    {
        int n = length ?? lengths[from];
        if (n < 0 || n > lengths[from]) throw new ArgumentOutOfRangeException(nameof(length));
        if (from == to) { lengths[to] = n; return; }
        using (torch.no_grad())
            for (int layer = 0; layer < keys.Length; layer++)
            {
                keys[layer][to].narrow(1, 0, n).copy_(keys[layer][from].narrow(1, 0, n));
                values[layer][to].narrow(1, 0, n).copy_(values[layer][from].narrow(1, 0, n));
            }
        lengths[to] = n;
    }

    /// <summary>
    /// Stores new keys/values [B, kvHeads, T, headDim] of rows <paramref name="slots"/> at each
    /// slot's current length and returns the stored keys/values of those rows up to
    /// <paramref name="keyLength"/> positions (rows shorter than that are padded with stale
    /// entries that the caller's mask hides).
    /// </summary>
    internal (Tensor Keys, Tensor Values) Write(int layer, int[] slots, Tensor slotIndex, Tensor positions, Tensor k, Tensor v, int keyLength)
    {
        long t = k.shape[2];
        if (slots.Length == 1)
        {
            int s = slots[0], start = lengths[s];
            keys[layer][s].narrow(1, start, t).copy_(k[0]);
            values[layer][s].narrow(1, start, t).copy_(v[0]);
        }
        else
        {
            // One new position per row, each at its own place: an indexed write [B, kvHeads, headDim].
            TensorIndex[] at = [TensorIndex.Tensor(slotIndex), TensorIndex.Colon, TensorIndex.Tensor(positions)];
            keys[layer].index_put_(k.select(2, 0), at);
            values[layer].index_put_(v.select(2, 0), at);
        }
        if (IsRange(slots))
            return (keys[layer].narrow(0, slots[0], slots.Length).narrow(2, 0, keyLength), values[layer].narrow(0, slots[0], slots.Length).narrow(2, 0, keyLength));
        // Scattered slots are gathered into one batch: narrow first, so only the positions in use are copied.
        return (keys[layer].narrow(2, 0, keyLength).index_select(0, slotIndex), values[layer].narrow(2, 0, keyLength).index_select(0, slotIndex));
    }

    internal void Advance(int[] slots, int tokens)
    {
        foreach (var s in slots) lengths[s] += tokens;
    }

    static bool IsRange(int[] slots)
    {
        for (int i = 1; i < slots.Length; i++) if (slots[i] != slots[0] + i) return false;
        return true;
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t.Dispose();
    }
}

/// <summary>
/// Forward passes over a <see cref="SlotKvCache"/> for continuous batching: <see cref="Decode"/>
/// runs one new token for each of several rows, each at its own position (per-row RoPE angles,
/// or for GPT-2 per-row learned position vectors, and a key-padding mask), in one pass; <see cref="Prefill"/> (or <see cref="PrefillEmbeddings"/>) runs one row's prompt chunk.
/// Same weights and arithmetic as <see cref="GptModel.Forward(Tensor, KvCache?)"/>; it reads the
/// layers through their Hugging Face module names, so it lives beside the model without
/// changing its classes.
/// </summary>
public sealed class BatchedDecoder : IDisposable
{
    readonly GptModel model;
    readonly GptConfig config;
    readonly Layer[] layers;
    readonly nn.Module<Tensor, Tensor> norm;
    readonly Embedding? positionTable; // GPT-2's learned positions; Llama rotates with invFreq instead
    readonly Tensor invFreq;

    sealed record Layer(nn.Module<Tensor, Tensor> InputNorm, Linear Q, Linear K, Linear V, Linear O, nn.Module<Tensor, Tensor> PostNorm, FeedForward Mlp);

    public BatchedDecoder(GptModel model)
    {
        this.model = model;
        config = model.Config;
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        T Get<T>(string name) where T : class => modules.GetValueOrDefault(name) as T
            ?? throw new InvalidOperationException($"The model has no module {name} of type {typeof(T).Name}; BatchedDecoder expects Hugging Face Llama names.");
        layers = Enumerable.Range(0, config.Layers).Select(i => new Layer(
            Get<nn.Module<Tensor, Tensor>>($"model.layers.{i}.input_layernorm"),
            Get<Linear>($"model.layers.{i}.self_attn.q_proj"), Get<Linear>($"model.layers.{i}.self_attn.k_proj"),
            Get<Linear>($"model.layers.{i}.self_attn.v_proj"), Get<Linear>($"model.layers.{i}.self_attn.o_proj"),
            Get<nn.Module<Tensor, Tensor>>($"model.layers.{i}.post_attention_layernorm"), Get<FeedForward>($"model.layers.{i}.mlp"))).ToArray();
        norm = Get<nn.Module<Tensor, Tensor>>("model.norm");
        if (config.LearnedPositions) positionTable = Get<Embedding>("model.embed_positions");
        using var scope = torch.NewDisposeScope();
        invFreq = (1.0 / torch.pow(config.RopeTheta, torch.arange(0, config.HeadDim, 2, dtype: ScalarType.Float32, device: model.Device) / config.HeadDim)).MoveToOuterDisposeScope();
    }

    public GptModel Model => model;

    /// <summary>A slot cache for this model: <paramref name="slots"/> sequences of up to the context length each.</summary>
    public SlotKvCache NewCache(int slots) => new(config, slots, config.ContextLength, model.Device, model.DType);

    /// <summary>Runs input embeddings [1, T, d] for one slot after what it already stores; returns the last position's logits [1, vocab].</summary>
    public Tensor PrefillEmbeddings(SlotKvCache cache, int slot, Tensor embeddings)
    {
        if (embeddings.shape[0] != 1) throw new ArgumentException("Prefill takes one row; decode rows together with Decode.", nameof(embeddings));
        return Run(cache, [slot], embeddings);
    }

    /// <summary>Runs token ids for one slot after what it already stores; returns the last position's logits [1, vocab].</summary>
    public Tensor Prefill(SlotKvCache cache, int slot, IReadOnlyList<int> tokens)
    {
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count], device: model.Device);
        return Run(cache, [slot], model.Embed(ids)).MoveToOuterDisposeScope();
    }

    /// <summary>One new token per row: row i feeds <paramref name="tokens"/>[i] to slot <paramref name="slots"/>[i] at that slot's own position. Returns logits [B, vocab].</summary>
    public Tensor Decode(SlotKvCache cache, int[] slots, int[] tokens)
    {
        if (slots.Length != tokens.Length || slots.Length == 0) throw new ArgumentException("Decode needs one token per slot and at least one slot.");
        if (slots.Distinct().Count() != slots.Length) throw new ArgumentException("Each slot may appear once in a decode step.", nameof(slots));
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(tokens.Select(t => (long)t).ToArray(), [tokens.Length, 1], device: model.Device);
        return Run(cache, slots, model.Embed(ids)).MoveToOuterDisposeScope();
    }

    Tensor Run(SlotKvCache cache, int[] slots, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var starts = slots.Select(cache.Length).ToArray();
        int keyLength = starts.Max() + (int)t;
        if (keyLength > cache.Capacity)
            throw new UserError($"The input needs positions up to {keyLength} but the model's context is {cache.Capacity} tokens; shorten the prompt.");
        var device = x.device;
        var slotIndex = torch.tensor(slots.Select(s => (long)s).ToArray(), device: device);
        var startTensor = torch.tensor(starts.Select(s => (long)s).ToArray(), device: device);
        var positions = startTensor.unsqueeze(1) + torch.arange(t, device: device).unsqueeze(0); // [B, T]

        // Per-row rotary angles (Hugging Face's half-split form, as Rotary computes them for a contiguous run).
        var angles = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq; // [B, T, hd/2]
        var full = torch.cat([angles, angles], dim: -1).unsqueeze(1);           // [B, 1, T, hd]
        var cos = full.cos().to(x.dtype);
        var sin = full.sin().to(x.dtype);

        if (positionTable is not null) x = x + positionTable.forward(positions);
        bool rotary = positionTable is null;

        var mask = AttentionMask(starts, t, keyLength, positions, device);
        var writeAt = startTensor; // used only when each row writes one position
        for (int i = 0; i < layers.Length; i++)
        {
            var layer = layers[i];
            var h = layer.InputNorm.forward(x);
            var q = Project(layer.Q, h, config.Heads);
            var k = Project(layer.K, h, config.KvHeads);
            if (rotary) (q, k) = (Rotate(q, cos, sin), Rotate(k, cos, sin));
            var v = Project(layer.V, h, config.KvHeads);
            var (keys, values) = cache.Write(i, slots, slotIndex, writeAt, k, v, keyLength);
            var y = F.scaled_dot_product_attention(q, ShareHeads(keys), ShareHeads(values), attn_mask: mask);
            x = x + layer.O.forward(y.transpose(1, 2).reshape(b, t, config.Heads * config.HeadDim));
            x = x + layer.Mlp.forward(layer.PostNorm.forward(x));
        }
        cache.Advance(slots, (int)t);
        return model.Head(norm.forward(x.select(1, -1))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Boolean [B, 1, T, keys]: query t of row r (at position start_r + t) sees keys 0..start_r + t,
    /// and for sparse models only those its pattern allows. Keys beyond a row's own length are
    /// padding (another row's longer history) and stay hidden.
    /// </summary>
    Tensor AttentionMask(int[] starts, long t, int keyLength, Tensor positions, Device device)
    {
        if (config.Attention is AttentionKind.SparseStrided or AttentionKind.SparseFixed)
            return torch.stack(starts.Select(s => SparseAttention.PatternMask(config.Attention, s, t, keyLength, config.SparseBlockLength, config.SparseSummary, device))).unsqueeze(1);
        var keyPositions = torch.arange(keyLength, device: device).view(1, 1, 1, keyLength);
        return keyPositions <= positions.view(positions.shape[0], 1, t, 1);
    }

    Tensor Project(Linear projection, Tensor x, int count) =>
        projection.forward(x).view(x.shape[0], x.shape[1], count, config.HeadDim).transpose(1, 2);

    static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = torch.cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], dim: -1);
        return x * cos + rotated * sin;
    }

    Tensor ShareHeads(Tensor kv) => config.KvHeads == config.Heads ? kv : kv.repeat_interleave(config.Heads / config.KvHeads, dim: 1);

    public void Dispose() => invFreq.Dispose();
}
