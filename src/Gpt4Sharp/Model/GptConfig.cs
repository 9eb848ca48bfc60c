using System.Text.Json.Nodes;

namespace Gpt4Sharp.Model;

/// <summary>
/// The shape of a decoder-only model: by default a Llama-style stack (pre-RMSNorm, RoPE,
/// SwiGLU, no biases), or GPT-2's (see <see cref="ModelArchitecture"/>). Immutable;
/// <see cref="Validate"/> turns every bad value into one clear sentence. Serialises to a
/// Hugging Face Llama or GPT-2 <c>config.json</c> so other tools can read it.
/// </summary>
public sealed record GptConfig
{
    /// <summary>Which family's parts the layers are built from (norm, positions, MLP, biases).</summary>
    public ModelArchitecture Architecture { get; init; } = ModelArchitecture.Llama;
    public int VocabSize { get; init; } = 8192;
    /// <summary>Longest sequence the model attends over (its context window), in tokens.</summary>
    public int ContextLength { get; init; } = 256;
    public int DModel { get; init; } = 256;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    /// <summary>Key/value heads (grouped-query attention); equal to <see cref="Heads"/> for plain multi-head attention.</summary>
    public int KvHeads { get; init; } = 4;
    /// <summary>MLP hidden width; 0 means Llama's 8·d/3 rounded up to a multiple of 64 (SwiGLU), or GPT-2's 4·d.</summary>
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
    public int FfnWidth => FfnHidden > 0 ? FfnHidden : IsGpt2 ? 4 * DModel : RoundUp(8 * DModel / 3, 64);

    bool IsGpt2 => Architecture == ModelArchitecture.Gpt2;
    /// <summary>GPT-2 adds a learned vector per absolute position to the input; Llama rotates queries and keys (RoPE).</summary>
    public bool LearnedPositions => IsGpt2;
    /// <summary>GPT-2's linear layers carry biases; Llama's have none.</summary>
    public bool Biases => IsGpt2;

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
        Require(Enum.IsDefined(Architecture), $"architecture {(int)Architecture} is unknown; use llama or gpt2");
        Require(LearnedPositions || HeadDim % 2 == 0, $"head width {HeadDim} must be even for rotary position embeddings");
        Require(KvHeads >= 1 && Heads % KvHeads == 0, $"heads {Heads} must be a multiple of key/value heads {KvHeads}");
        Require(FfnHidden >= 0, $"SwiGLU width must be positive or 0 for the default (got {FfnHidden})");
        Require(RopeTheta > 1, $"RoPE theta must be greater than 1 (got {RopeTheta})");
        Require(NormEps > 0 && NormEps < 1, $"norm epsilon must be in (0, 1) (got {NormEps})");
        Require(Enum.IsDefined(Attention), $"attention kind {(int)Attention} is unknown; use dense, sparse_strided, sparse_fixed or recurrent");
        Require(SparseBlock >= 0, $"sparse block length must be positive or 0 for ceil(sqrt(context)) (got {SparseBlock})");
        Require(SparseSummary >= 1 && SparseSummary <= SparseBlockLength, $"summary columns must be between 1 and the block length {SparseBlockLength} (got {SparseSummary})");
        Require(Attention != AttentionKind.Recurrent || MemoryLength >= 1, $"a recurrent model needs a memory length of at least 1 (got {MemoryLength})");
        Require(MemoryLength >= 0, $"memory length must not be negative (got {MemoryLength})");
        if (IsGpt2)
        {
            Require(KvHeads == Heads, $"GPT-2 has no grouped-query attention, so key/value heads must equal heads {Heads} (got {KvHeads})");
            Require(TiedEmbeddings, "GPT-2 ties its output head to the token embedding; set tied embeddings");
            Require(Attention != AttentionKind.Recurrent, "recurrent attention keeps positions relative with RoPE, which GPT-2's learned absolute positions cannot do; use dense or sparse attention with GPT-2");
        }
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
            long d = DModel, kv = (long)KvHeads * HeadDim, f = FfnWidth;
            long attention = d * d * 2 + d * kv * 2 + (Biases ? 2 * d + 2 * kv : 0); // q, o and k, v projections
            long mlp = IsGpt2 ? 2 * d * f + f + d : 3 * d * f;                      // fc, proj with biases; or gate, up, down
            long norm = IsGpt2 ? 2 * d : d;                                          // LayerNorm gain and bias; or RMSNorm gain
            long perLayer = attention + mlp + 2 * norm;
            long embeddings = (long)VocabSize * d * (TiedEmbeddings ? 1 : 2) + PositionParameters;
            return Layers * perLayer + embeddings + norm;                            // final norm
        }
    }

    long PositionParameters => LearnedPositions ? (long)ContextLength * DModel : 0;

    /// <summary>
    /// Training FLOPs per token at sequence length <paramref name="seqLen"/>: 6·N + 12·L·T·d
    /// (nanoGPT, PaLM appendix B), N counting the weights used in matmuls (the output
    /// projection but not an untied input embedding or a position table, which are lookups).
    /// </summary>
    public double TrainingFlopsPerToken(int seqLen)
    {
        long matmulParams = ParameterCount - (TiedEmbeddings ? 0 : (long)VocabSize * DModel) - PositionParameters;
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

    /// <summary>Parses "llama" or "gpt2" (as on the command line).</summary>
    public static ModelArchitecture ParseArchitecture(string name) => name.Trim().ToLowerInvariant().Replace("-", "") switch
    {
        "llama" => ModelArchitecture.Llama,
        "gpt2" => ModelArchitecture.Gpt2,
        _ => throw new UserError($"Architecture '{name}' is unknown; use llama or gpt2."),
    };

    /// <summary>Hugging Face <c>LlamaForCausalLM</c> or <c>GPT2LMHeadModel</c> config.json (plus the Gpt4Sharp attention keys when not dense).</summary>
    public JsonObject ToHuggingFace()
    {
        var json = IsGpt2 ? Gpt2Json() : LlamaJson();
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

    /// <summary>GPT-2's config.json keys (Hugging Face <c>GPT2Config</c>); n_inner is written out so any width round-trips.</summary>
    JsonObject Gpt2Json() => new()
    {
        ["architectures"] = new JsonArray(Gpt2ArchitectureName),
        ["model_type"] = "gpt2",
        ["vocab_size"] = VocabSize,
        ["n_positions"] = ContextLength,
        ["n_ctx"] = ContextLength,
        ["n_embd"] = DModel,
        ["n_inner"] = FfnWidth,
        ["n_layer"] = Layers,
        ["n_head"] = Heads,
        ["activation_function"] = "gelu_new",
        ["layer_norm_epsilon"] = NormEps,
        ["tie_word_embeddings"] = true,
        ["torch_dtype"] = "float32",
    };

    public const string Gpt2ArchitectureName = "GPT2LMHeadModel";

    /// <summary>True for a GPT-2 config.json (architectures[0] GPT2LMHeadModel, or model_type gpt2).</summary>
    public static bool IsGpt2Json(JsonNode json) =>
        json["architectures"] is JsonArray { Count: > 0 } a ? a[0]?.GetValue<string>() == Gpt2ArchitectureName : json["model_type"]?.GetValue<string>() == "gpt2";

    /// <summary>A Hugging Face Llama or GPT-2 config.json as a validated config.</summary>
    public static GptConfig FromHuggingFace(JsonNode json)
    {
        try
        {
            var shape = IsGpt2Json(json) ? Gpt2FromJson(json) : LlamaFromJson(json);
            return (shape with
            {
                Attention = json[AttentionKey] is { } kind ? ParseAttention(kind.GetValue<string>()) : AttentionKind.Dense,
                SparseBlock = json[SparseBlockKey]?.GetValue<int>() ?? 0,
                SparseSummary = json[SparseSummaryKey]?.GetValue<int>() ?? 1,
                MemoryLength = json[MemoryLengthKey]?.GetValue<int>() ?? 0,
            }).Validate();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new UserError($"config.json has a value of the wrong type ({e.Message}); it must be a Hugging Face Llama or GPT-2 config.", e);
        }
    }

    static GptConfig Gpt2FromJson(JsonNode json)
    {
        int heads = Get<int>(json, "n_head");
        return new GptConfig
        {
            Architecture = ModelArchitecture.Gpt2,
            VocabSize = Get<int>(json, "vocab_size"),
            ContextLength = json["n_positions"]?.GetValue<int>() ?? Get<int>(json, "n_ctx"),
            DModel = Get<int>(json, "n_embd"),
            FfnHidden = json["n_inner"]?.GetValue<int>() ?? 0, // null or absent: 4·d
            Layers = Get<int>(json, "n_layer"),
            Heads = heads,
            KvHeads = heads,
            NormEps = json["layer_norm_epsilon"]?.GetValue<double>() ?? 1e-5,
            TiedEmbeddings = json["tie_word_embeddings"]?.GetValue<bool>() ?? true,
        };
    }

    static GptConfig LlamaFromJson(JsonNode json)
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
        };
    }

    static T Get<T>(JsonNode json, string key) =>
        json[key] is { } node ? node.GetValue<T>() : throw new UserError($"config.json lacks \"{key}\"; it must be a Hugging Face Llama or GPT-2 config.");
}

/// <summary>
/// The family a model's layers come from. Llama: pre-RMSNorm, rotary positions, SwiGLU, no
/// biases. GPT-2 (Radford et al. 2019): pre-LayerNorm with bias, learned absolute position
/// embeddings, a tanh-GELU MLP, biases on every linear layer, output head tied to the embedding.
/// </summary>
public enum ModelArchitecture { Llama, Gpt2 }

/// <summary>
/// The attention pattern of every layer. Dense is full causal attention. The sparse kinds are
/// Child et al. (2019)'s factorised patterns, merged into one head: strided (the previous l
/// positions plus every l-th one before them) and fixed (the own block plus the last c
/// "summary" positions of every earlier block). Recurrent is Transformer-XL (Dai et al. 2019):
/// causal attention within a segment plus a detached memory of the previous segment's keys and values.
/// </summary>
public enum AttentionKind { Dense, SparseStrided, SparseFixed, Recurrent }
