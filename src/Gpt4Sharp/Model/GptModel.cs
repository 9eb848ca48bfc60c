using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Model;

/// <summary>
/// The decoder-only language model. Module fields are named so that state_dict names are
/// exactly Hugging Face Llama's (<c>model.embed_tokens.weight</c>,
/// <c>model.layers.0.self_attn.q_proj.weight</c>, ..., <c>lm_head.weight</c> when untied).
/// A GPT-2 model (<see cref="ModelArchitecture.Gpt2"/>) uses the same names plus biases,
/// <c>model.embed_positions.weight</c> and <c>mlp.c_fc</c>/<c>mlp.c_proj</c>; Interop maps
/// them to Hugging Face's GPT-2 names.
/// </summary>
public sealed class GptModel : nn.Module
{
#pragma warning disable IDE1006 // Hugging Face Llama names
    readonly DecoderStack model;
    readonly Linear? lm_head;
#pragma warning restore IDE1006

    public GptConfig Config { get; }

    public GptModel(GptConfig config, long seed = 1337) : base(nameof(GptModel))
    {
        Config = config.Validate();
        model = new DecoderStack(config);
        if (!config.TiedEmbeddings) lm_head = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
        RegisterComponents();
        Initialise(seed);
    }

    /// <summary>Number of parameters (a tied embedding counted once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    // TorchSharp's Embedding.weight returns a new native handle on every read (Linear's does
    // not), so these two free theirs instead of leaving one per call to the finalizer.
    public Device Device
    {
        get { using var weight = model.Embedding.weight!; return weight.device; }
    }

    public ScalarType DType
    {
        get { using var weight = model.Embedding.weight!; return weight.dtype; }
    }

    /// <summary>Token embeddings [B, T, d] for ids [B, T]; multimodal inputs splice image features into these.</summary>
    public Tensor Embed(Tensor tokens) => model.Embedding.forward(tokens);

    /// <summary>Logits [B, T, vocab] for token ids [B, T]; with a cache, positions continue from cache.Length.</summary>
    public Tensor Forward(Tensor tokens, KvCache? cache = null)
    {
        using var scope = torch.NewDisposeScope();
        return ForwardEmbeddings(Embed(tokens), cache).MoveToOuterDisposeScope();
    }

    /// <summary>Logits for input embeddings [B, T, d] (text, or text interleaved with image features).</summary>
    public Tensor ForwardEmbeddings(Tensor embeddings, KvCache? cache = null)
    {
        using var scope = torch.NewDisposeScope();
        long t = embeddings.shape[1];
        int start = cache?.Length ?? 0;
        if (start + t > Config.ContextLength)
            throw new UserError($"The input needs positions up to {start + t} but the model's context is {Config.ContextLength} tokens; shorten the prompt.");
        var h = model.Forward(embeddings, start, cache);
        cache?.Advance((int)t);
        return Head(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits for one segment of a long sequence with Transformer-XL recurrence: the segment
    /// attends over <paramref name="memory"/> (the previous positions' keys and values, no
    /// gradient) and leaves its own there for the next segment. Works for any model; a model
    /// configured as <see cref="AttentionKind.Recurrent"/> is trained this way.
    /// </summary>
    public Tensor ForwardSegment(Tensor tokens, SegmentMemory memory)
    {
        using var scope = torch.NewDisposeScope();
        return ForwardSegmentEmbeddings(Embed(tokens), memory).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="ForwardSegment"/> for input embeddings [B, T, d].</summary>
    public Tensor ForwardSegmentEmbeddings(Tensor embeddings, SegmentMemory memory)
    {
        using var scope = torch.NewDisposeScope();
        long t = embeddings.shape[1];
        if (t > Config.ContextLength)
            throw new UserError($"A segment of {t} tokens is longer than the model's context of {Config.ContextLength}; use shorter segments.");
        var h = model.Forward(embeddings, memory);
        return Head(h).MoveToOuterDisposeScope();
    }

    /// <summary>A segment memory sized by the config's memory length (or <paramref name="capacity"/>).</summary>
    public SegmentMemory NewMemory(int? capacity = null) => new(Config, capacity ?? (Config.MemoryLength > 0 ? Config.MemoryLength : Config.ContextLength));

    /// <summary>Final-norm hidden states [B, T, d] for token ids [B, T] (no cache): what reward and value heads read.</summary>
    public Tensor Hidden(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        return model.Forward(Embed(tokens), 0, null).MoveToOuterDisposeScope();
    }

    /// <summary>Logits from <see cref="Hidden"/>'s states, so one forward pass can feed both the LM head and another head.</summary>
    public Tensor Head(Tensor hidden) => lm_head is null ? F.linear(hidden, model.Embedding.weight!) : lm_head.forward(hidden);

    /// <summary>Mean next-token cross-entropy; target positions equal to -100 are ignored (prompt tokens in SFT).</summary>
    public static Tensor Loss(Tensor logits, Tensor targets) =>
        F.cross_entropy(logits.reshape(-1, logits.shape[^1]).to(ScalarType.Float32), targets.reshape(-1), ignore_index: -100);

    /// <summary>Forward and loss in one call: (logits, loss).</summary>
    public (Tensor Logits, Tensor Loss) Forward(Tensor tokens, Tensor targets)
    {
        var logits = Forward(tokens);
        return (logits, Loss(logits, targets));
    }

    /// <summary>A KV cache sized for this model.</summary>
    public KvCache NewCache(long batch = 1, int? capacity = null) =>
        new(Config, batch, capacity ?? Config.ContextLength, Device, DType);

    /// <summary>GPT-2/nanoGPT initialisation: N(0, 0.02), residual output projections scaled by 1/sqrt(2·layers).</summary>
    void Initialise(long seed)
    {
        using var noGrad = torch.no_grad();
        using var generator = new Generator((ulong)seed);
        double residualStd = 0.02 / Math.Sqrt(2.0 * Config.Layers);
        var residual = model.Blocks.SelectMany(b => b.ResidualOutputs).Cast<Linear>().Select(l => l.weight!).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal)) { p.zero_(); continue; } // GPT-2's biases (and LayerNorm's) start at 0
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name == "model.norm.weight") continue; // norms start at 1
            p.normal_(0, residual.Contains(p) ? residualStd : 0.02, generator);
        }
    }

    /// <summary>The embedding, decoder layers and final norm: Hugging Face's <c>model.*</c>.</summary>
    sealed class DecoderStack : nn.Module
    {
#pragma warning disable IDE1006 // Hugging Face Llama names
        readonly Embedding embed_tokens;
        readonly Embedding? embed_positions; // GPT-2 only
        readonly ModuleList<DecoderBlock> layers;
        readonly nn.Module<Tensor, Tensor> norm;
#pragma warning restore IDE1006
        readonly GptConfig config;

        public DecoderStack(GptConfig config) : base(nameof(DecoderStack))
        {
            this.config = config;
            embed_tokens = nn.Embedding(config.VocabSize, config.DModel);
            if (config.LearnedPositions) embed_positions = nn.Embedding(config.ContextLength, config.DModel);
            layers = new ModuleList<DecoderBlock>(Enumerable.Range(0, config.Layers).Select(_ => new DecoderBlock(config)).ToArray());
            norm = Norm.Create(config);
            RegisterComponents();
        }

        public Embedding Embedding => embed_tokens;
        public IEnumerable<DecoderBlock> Blocks => layers;

        public Tensor Forward(Tensor x, int start, KvCache? cache)
        {
            using var scope = torch.NewDisposeScope();
            using var rotary = RotaryFor(start, x.shape[1], x);
            x = AddPositions(x, start);
            for (int i = 0; i < layers.Count; i++) x = layers[i].Forward(x, rotary, cache, i);
            return norm.forward(x).MoveToOuterDisposeScope();
        }

        public Tensor Forward(Tensor x, SegmentMemory memory)
        {
            using var scope = torch.NewDisposeScope();
            // One table for memory (positions 0..m-1) and segment (m..m+T-1).
            using var rotary = RotaryFor(0, memory.Length + x.shape[1], x);
            x = AddPositions(x, memory.Length);
            for (int i = 0; i < layers.Count; i++) x = layers[i].Forward(x, rotary, memory, i);
            return norm.forward(x).MoveToOuterDisposeScope();
        }

        /// <summary>Llama's rotary table for positions start..start+length-1; null for GPT-2, whose positions enter at the input.</summary>
        Rotary? RotaryFor(long start, long length, Tensor x) =>
            embed_positions is null ? new Rotary(config.HeadDim, config.RopeTheta, start, length, x.device, x.dtype) : null;

        /// <summary>GPT-2: adds the learned embeddings of positions start.. (after a cache or segment memory, positions continue).</summary>
        Tensor AddPositions(Tensor x, long start)
        {
            if (embed_positions is null) return x;
            long t = x.shape[1];
            if (start + t > config.ContextLength)
                throw new UserError($"The input needs positions up to {start + t} but the model learned only {config.ContextLength}; shorten the input.");
            return x + embed_positions.forward(torch.arange(start, start + t, device: x.device));
        }
    }
}
