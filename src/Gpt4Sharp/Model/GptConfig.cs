using System.Text.Json.Nodes;

namespace Gpt4Sharp.Model;

/// <summary>
/// The shape of a decoder-only model: a Llama-style stack (pre-RMSNorm, RoPE, SwiGLU, no
/// biases). Immutable; <see cref="Validate"/> turns every bad value into one clear sentence.
/// Serialises to a Hugging Face Llama <c>config.json</c> so other tools can read it.
/// </summary>
public sealed record GptConfig
{
    public int VocabSize { get; init; } = 8192;
    /// <summary>Longest sequence the model attends over (its context window), in tokens.</summary>
    public int ContextLength { get; init; } = 256;
    public int DModel { get; init; } = 256;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    /// <summary>Key/value heads (grouped-query attention); equal to <see cref="Heads"/> for plain multi-head attention.</summary>
    public int KvHeads { get; init; } = 4;
    /// <summary>SwiGLU hidden width; 0 means 8·d/3 rounded up to a multiple of 64, as Llama does.</summary>
    public int FfnHidden { get; init; }
    public bool TiedEmbeddings { get; init; } = true;
    public double RopeTheta { get; init; } = 10000;
    public double NormEps { get; init; } = 1e-5;

    /// <summary>Which attention pattern the layers use; anything but dense is a Gpt4Sharp extension of the Llama config.</summary>
    public AttentionKind Attention { get; init; } = AttentionKind.Dense;
    /// <summary>Sparse block length l (Child et al.'s stride); 0 means ceil(sqrt(context)), the O(n·sqrt n) choice.</summary>
    public int SparseBlock { get; init; }
    /// <summary>Fixed pattern: the last c positions of every block are the "summary" columns all later blocks see.</summary>
    public int SparseSummary { get; init; } = 1;
    /// <summary>Recurrent: positions of the previous segment(s) kept as key/value memory (Transformer-XL's M).</summary>
    public int MemoryLength { get; init; }

    /// <summary>The sparse block length actually used.</summary>
    public int SparseBlockLength => SparseBlock > 0 ? SparseBlock : (int)Math.Ceiling(Math.Sqrt(ContextLength));

    /// <summary>GPT-4's published context tiers.</summary>
    public const int Context8K = 8192, Context32K = 32768;

    public int HeadDim => DModel / Heads;
    public int FfnWidth => FfnHidden > 0 ? FfnHidden : RoundUp(8 * DModel / 3, 64);

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>A config with <see cref="KvHeads"/> defaulted to <paramref name="heads"/>.</summary>
    public static GptConfig Create(int vocabSize, int contextLength, int dModel, int layers, int heads, bool tied = true) => new()
    {
        VocabSize = vocabSize, ContextLength = contextLength, DModel = dModel, Layers = layers, Heads = heads, KvHeads = heads, TiedEmbeddings = tied,
    };

    public GptConfig Validate()
    {
        Require(VocabSize >= 2, $"vocab size must be at least 2 (got {VocabSize})");
        Require(ContextLength >= 1, $"context length must be positive (got {ContextLength})");
        Require(DModel >= 1 && Layers >= 1 && Heads >= 1, $"width, layers and heads must be positive (got d={DModel}, L={Layers}, heads={Heads})");
        Require(DModel % Heads == 0, $"width {DModel} must be divisible by the number of heads {Heads}");
        Require(HeadDim % 2 == 0, $"head width {HeadDim} must be even for rotary position embeddings");
        Require(KvHeads >= 1 && Heads % KvHeads == 0, $"heads {Heads} must be a multiple of key/value heads {KvHeads}");
        Require(FfnHidden >= 0, $"SwiGLU width must be positive or 0 for the default (got {FfnHidden})");
        Require(RopeTheta > 1, $"RoPE theta must be greater than 1 (got {RopeTheta})");
        Require(NormEps > 0 && NormEps < 1, $"norm epsilon must be in (0, 1) (got {NormEps})");
        Require(Enum.IsDefined(Attention), $"attention kind {(int)Attention} is unknown; use dense, sparse_strided, sparse_fixed or recurrent");
        Require(SparseBlock >= 0, $"sparse block length must be positive or 0 for ceil(sqrt(context)) (got {SparseBlock})");
        Require(SparseSummary >= 1 && SparseSummary <= SparseBlockLength, $"summary columns must be between 1 and the block length {SparseBlockLength} (got {SparseSummary})");
        Require(Attention != AttentionKind.Recurrent || MemoryLength >= 1, $"a recurrent model needs a memory length of at least 1 (got {MemoryLength})");
        Require(MemoryLength >= 0, $"memory length must not be negative (got {MemoryLength})");
        return this;
    }

    static void Require(bool ok, string what)
    {
        if (!ok) throw new UserError($"Invalid model config: {what}.");
    }

    /// <summary>Parameter count from the shape alone (the embedding once when tied).</summary>
    public long ParameterCount
    {
        get
        {
            long d = DModel, kv = (long)KvHeads * HeadDim;
            long attention = d * d * 2 + d * kv * 2;          // q, o and k, v projections
            long mlp = 3 * d * FfnWidth;                       // gate, up, down
            long perLayer = attention + mlp + 2 * d;           // two RMSNorm weights
            long embeddings = (long)VocabSize * d * (TiedEmbeddings ? 1 : 2);
            return Layers * perLayer + embeddings + d;         // final norm
        }
    }

    /// <summary>
    /// Training FLOPs per token at sequence length <paramref name="seqLen"/>: 6·N + 12·L·T·d
    /// (nanoGPT, PaLM appendix B), N counting the weights used in matmuls (the output
    /// projection but not an untied input embedding, which is a lookup).
    /// </summary>
    public double TrainingFlopsPerToken(int seqLen)
    {
        long matmulParams = ParameterCount - (TiedEmbeddings ? 0 : (long)VocabSize * DModel);
        return 6.0 * matmulParams + 12.0 * Layers * seqLen * DModel;
    }

    /// <summary>config.json keys for the attention pattern, written beside the Llama ones only for non-dense models.</summary>
    public const string AttentionKey = "gpt4sharp_attention", SparseBlockKey = "gpt4sharp_sparse_block",
        SparseSummaryKey = "gpt4sharp_sparse_summary", MemoryLengthKey = "gpt4sharp_memory_length";

    static readonly Dictionary<AttentionKind, string> AttentionNames = new()
    {
        [AttentionKind.Dense] = "dense", [AttentionKind.SparseStrided] = "sparse_strided",
        [AttentionKind.SparseFixed] = "sparse_fixed", [AttentionKind.Recurrent] = "recurrent",
    };

    /// <summary>Parses "dense", "sparse_strided", "sparse_fixed" or "recurrent" (as in config.json and on the command line).</summary>
    public static AttentionKind ParseAttention(string name) =>
        AttentionNames.FirstOrDefault(kv => kv.Value == name.Trim().ToLowerInvariant().Replace('-', '_')) is { Value: not null } hit ? hit.Key
            : throw new UserError($"Attention kind '{name}' is unknown; use {string.Join(", ", AttentionNames.Values)}.");

    public static string AttentionName(AttentionKind kind) => AttentionNames[kind];

    /// <summary>Hugging Face <c>LlamaForCausalLM</c> config.json (plus the Gpt4Sharp attention keys when not dense).</summary>
    public JsonObject ToHuggingFace()
    {
        var json = LlamaJson();
        if (Attention == AttentionKind.Dense) return json;
        json[AttentionKey] = AttentionName(Attention);
        json[SparseBlockKey] = SparseBlock;
        json[SparseSummaryKey] = SparseSummary;
        json[MemoryLengthKey] = MemoryLength;
        return json;
    }

    JsonObject LlamaJson() => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["vocab_size"] = VocabSize,
        ["max_position_embeddings"] = ContextLength,
        ["hidden_size"] = DModel,
        ["intermediate_size"] = FfnWidth,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = KvHeads,
        ["head_dim"] = HeadDim,
        ["hidden_act"] = "silu",
        ["rms_norm_eps"] = NormEps,
        ["rope_theta"] = RopeTheta,
        ["tie_word_embeddings"] = TiedEmbeddings,
        ["attention_bias"] = false,
        ["mlp_bias"] = false,
        ["torch_dtype"] = "float32",
    };

    public static GptConfig FromHuggingFace(JsonNode json)
    {
        try
        {
            int heads = Get<int>(json, "num_attention_heads");
            return new GptConfig
            {
                VocabSize = Get<int>(json, "vocab_size"),
                ContextLength = Get<int>(json, "max_position_embeddings"),
                DModel = Get<int>(json, "hidden_size"),
                FfnHidden = Get<int>(json, "intermediate_size"),
                Layers = Get<int>(json, "num_hidden_layers"),
                Heads = heads,
                KvHeads = json["num_key_value_heads"]?.GetValue<int>() ?? heads,
                NormEps = json["rms_norm_eps"]?.GetValue<double>() ?? 1e-6,
                RopeTheta = json["rope_theta"]?.GetValue<double>() ?? 10000,
                TiedEmbeddings = json["tie_word_embeddings"]?.GetValue<bool>() ?? false,
                Attention = json[AttentionKey] is { } kind ? ParseAttention(kind.GetValue<string>()) : AttentionKind.Dense,
                SparseBlock = json[SparseBlockKey]?.GetValue<int>() ?? 0,
                SparseSummary = json[SparseSummaryKey]?.GetValue<int>() ?? 1,
                MemoryLength = json[MemoryLengthKey]?.GetValue<int>() ?? 0,
            }.Validate();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new UserError($"config.json has a value of the wrong type ({e.Message}); it must be a Hugging Face Llama config.", e);
        }
    }

    static T Get<T>(JsonNode json, string key) =>
        json[key] is { } node ? node.GetValue<T>() : throw new UserError($"config.json lacks \"{key}\"; it must be a Hugging Face Llama config.");
}

/// <summary>
/// The attention pattern of every layer. Dense is full causal attention. The sparse kinds are
/// Child et al. (2019)'s factorised patterns, merged into one head: strided (the previous l
/// positions plus every l-th one before them) and fixed (the own block plus the last c
/// "summary" positions of every earlier block). Recurrent is Transformer-XL (Dai et al. 2019):
/// causal attention within a segment plus a detached memory of the previous segment's keys and values.
/// </summary>
public enum AttentionKind { Dense, SparseStrided, SparseFixed, Recurrent }
