using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Interop;

/// <summary>The shape of a Hugging Face <c>GPT2LMHeadModel</c> (config.json keys n_embd, n_layer, ...).</summary>
public sealed record Gpt2Config(int VocabSize, int Positions, int DModel, int Layers, int Heads, double NormEps)
{
    public static Gpt2Config FromHuggingFace(JsonNode json)
    {
        int Get(string key) => json[key]?.GetValue<int>() ?? throw new UserError($"config.json lacks \"{key}\"; it must be a Hugging Face GPT-2 config.");
        var activation = json["activation_function"]?.GetValue<string>() ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw new UserError($"The GPT-2 config uses the {activation} activation; only GPT-2's tanh-approximated GELU (gelu_new) is supported.");
        var config = new Gpt2Config(Get("vocab_size"), Get("n_positions"), Get("n_embd"), Get("n_layer"), Get("n_head"), json["layer_norm_epsilon"]?.GetValue<double>() ?? 1e-5);
        if (config.DModel % config.Heads != 0) throw new UserError($"GPT-2 width {config.DModel} is not divisible by its {config.Heads} heads; the config.json is inconsistent.");
        return config;
    }

    public JsonObject ToHuggingFace() => new()
    {
        ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["model_type"] = "gpt2", ["vocab_size"] = VocabSize,
        ["n_positions"] = Positions, ["n_ctx"] = Positions, ["n_embd"] = DModel, ["n_layer"] = Layers, ["n_head"] = Heads,
        ["layer_norm_epsilon"] = NormEps, ["activation_function"] = "gelu_new", ["tie_word_embeddings"] = true,
    };
}

/// <summary>
/// OpenAI's GPT-2 (Radford et al. 2019) as Hugging Face stores it: learned absolute positions,
/// LayerNorm with bias, a GELU MLP, a fused query/key/value projection and an output head tied
/// to the token embedding. Its blocks differ from Llama's in every part (norm, activation,
/// positions, biases), so it cannot be converted into a <see cref="Model.GptModel"/> without
/// changing its outputs; it is its own module. Hugging Face's Conv1D stores weights [in, out],
/// the transpose of a Linear's, so they are transposed once at load and save.
/// </summary>
public sealed class Gpt2Model : nn.Module
{
    readonly Embedding wte, wpe;
    readonly ModuleList<Gpt2Block> h;
    readonly LayerNorm ln_f;

    public Gpt2Config Config { get; }

    public Gpt2Model(Gpt2Config config) : base(nameof(Gpt2Model))
    {
        Config = config;
        wte = nn.Embedding(config.VocabSize, config.DModel);
        wpe = nn.Embedding(config.Positions, config.DModel);
        h = new ModuleList<Gpt2Block>([.. Enumerable.Range(0, config.Layers).Select(_ => new Gpt2Block(config))]);
        ln_f = nn.LayerNorm(config.DModel, config.NormEps);
        RegisterComponents();
    }

    /// <summary>Logits [B, T, vocab] for token ids [B, T] from position 0.</summary>
    public Tensor Forward(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        long t = tokens.shape[1];
        if (t > Config.Positions) throw new UserError($"The input is {t} tokens but GPT-2's context is {Config.Positions}; shorten it.");
        var x = wte.forward(tokens) + wpe.forward(torch.arange(t, device: tokens.device));
        foreach (var block in h) x = block.forward(x);
        return F.linear(ln_f.forward(x), wte.weight!).MoveToOuterDisposeScope();
    }

    /// <summary>Loads a GPT2LMHeadModel directory (config.json + model.safetensors, names with or without the "transformer." prefix).</summary>
    public static Gpt2Model Load(string directory)
    {
        var config = Gpt2Config.FromHuggingFace(HuggingFace.ReadConfig(directory));
        var model = new Gpt2Model(config);
        var loaded = HuggingFace.ReadTensors(directory);
        try
        {
            var byName = loaded.Where(kv => !kv.Key.EndsWith(".attn.bias", StringComparison.Ordinal) && !kv.Key.EndsWith(".attn.masked_bias", StringComparison.Ordinal) && kv.Key != "lm_head.weight")
                .ToDictionary(kv => kv.Key.StartsWith("transformer.", StringComparison.Ordinal) ? kv.Key["transformer.".Length..] : kv.Key, kv => kv.Value);
            var expected = model.state_dict();
            var problems = expected.Keys.Where(k => !byName.ContainsKey(k)).Select(k => $"missing {k}")
                .Concat(byName.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected {k}")).ToList();
            if (problems.Count > 0)
                throw new UserError($"The weights in {directory} are not a GPT-2 checkpoint matching its config.json ({string.Join("; ", problems.Take(3))}); download it again.");
            using var noGrad = torch.no_grad();
            foreach (var (name, target) in expected)
            {
                var value = byName[name].to(ScalarType.Float32);
                if (IsConv1D(name)) value = value.t();
                if (!value.shape.SequenceEqual(target.shape))
                    throw new UserError($"{name} in {directory} is [{string.Join(", ", byName[name].shape)}], which does not fit its config.json; download the checkpoint again.");
                target.copy_(value);
            }
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
        model.eval();
        return model;
    }

    /// <summary>Writes config.json and model.safetensors in Hugging Face's GPT-2 layout (Conv1D weights [in, out], "transformer." names).</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var tensors = state_dict().ToDictionary(kv => "transformer." + kv.Key, kv => (IsConv1D(kv.Key) ? kv.Value.t() : kv.Value).detach().contiguous());
        Runs.AtomicFile.Write(Path.Combine(directory, Checkpoints.CheckpointStore.ModelFile), s => Safetensors.SaveStateDict(s, tensors, leaveOpen: true));
        TokenizerFiles.WriteJson(Path.Combine(directory, Checkpoints.CheckpointStore.ConfigFile), Config.ToHuggingFace());
    }

    static bool IsConv1D(string name) => name.EndsWith(".weight", StringComparison.Ordinal) && (name.Contains(".c_attn.") || name.Contains(".c_proj.") || name.Contains(".c_fc."));

    sealed class Gpt2Block : nn.Module<Tensor, Tensor>
    {
        readonly LayerNorm ln_1, ln_2;
        readonly Gpt2Attention attn;
        readonly Gpt2Mlp mlp;

        public Gpt2Block(Gpt2Config config) : base(nameof(Gpt2Block))
        {
            ln_1 = nn.LayerNorm(config.DModel, config.NormEps);
            attn = new Gpt2Attention(config);
            ln_2 = nn.LayerNorm(config.DModel, config.NormEps);
            mlp = new Gpt2Mlp(config.DModel);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var h = x + attn.forward(ln_1.forward(x));
            return (h + mlp.forward(ln_2.forward(h))).MoveToOuterDisposeScope();
        }
    }

    sealed class Gpt2Attention : nn.Module<Tensor, Tensor>
    {
        readonly Linear c_attn, c_proj;
        readonly int heads;

        public Gpt2Attention(Gpt2Config config) : base(nameof(Gpt2Attention))
        {
            heads = config.Heads;
            c_attn = nn.Linear(config.DModel, 3 * config.DModel);
            c_proj = nn.Linear(config.DModel, config.DModel);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            long b = x.shape[0], t = x.shape[1], d = x.shape[2];
            var qkv = c_attn.forward(x).view(b, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
            var y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_casual: t > 1);
            return c_proj.forward(y.transpose(1, 2).reshape(b, t, d)).MoveToOuterDisposeScope();
        }
    }

    sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
    {
        readonly Linear c_fc, c_proj;

        public Gpt2Mlp(int d) : base(nameof(Gpt2Mlp))
        {
            c_fc = nn.Linear(d, 4 * d);
            c_proj = nn.Linear(4 * d, d);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var u = c_fc.forward(x);
            // GPT-2's tanh approximation of GELU ("gelu_new"): 0.5·u·(1 + tanh(√(2/π)·(u + 0.044715·u³)))
            var gelu = 0.5 * u * (1 + torch.tanh(Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u.pow(3))));
            return c_proj.forward(gelu).MoveToOuterDisposeScope();
        }
    }
}
