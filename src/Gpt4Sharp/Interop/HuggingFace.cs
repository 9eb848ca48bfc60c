using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Gpt4Sharp.Interop;

/// <summary>What an export wrote and what it had to leave out.</summary>
public sealed record ExportResult(string Directory, IReadOnlyList<string> Files, IReadOnlyList<string> LeftOut, long Parameters);

/// <summary>
/// Hugging Face model directories. Export writes a <c>LlamaForCausalLM</c> (or, for a GPT-2
/// model, <c>GPT2LMHeadModel</c>) directory that transformers, vLLM and TGI load (config.json,
/// model.safetensors, generation_config.json and the tokenizer files). Import reads a
/// Llama-family or GPT-2 directory (one model.safetensors, or shards with
/// model.safetensors.index.json) into a Gpt4Sharp run directory that
/// <see cref="ModelBundle.Load"/> opens. GptModel's tensor names and half-split RoPE already
/// are Hugging Face Llama's, so Llama tensors are not renamed or permuted either way; GPT-2's
/// go through <see cref="Gpt2Layout"/>.
/// </summary>
public static class HuggingFace
{
    public const string IndexFile = "model.safetensors.index.json";

    public static ExportResult Export(GptModel model, ITokenizer tokenizer, string directory)
    {
        bool gpt2 = model.Config.Architecture == ModelArchitecture.Gpt2;
        DenseCore.RequireDense(model.Config, gpt2 ? "Hugging Face GPT-2" : "Hugging Face Llama");
        var tokenizerFiles = TokenizerFiles.From(tokenizer);
        if (tokenizerFiles.Tokens.Count > model.Config.VocabSize)
            throw new UserError($"The tokenizer has {tokenizerFiles.Tokens.Count} tokens but the model only {model.Config.VocabSize}; export the tokenizer the model was trained with.");
        Directory.CreateDirectory(directory);

        var (tensors, leftOut) = DenseCore.Split(model);
        if (gpt2) tensors = Gpt2Layout.ToHuggingFace(tensors, model.Config.Layers);
        var contiguous = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float32).contiguous());
        var modelPath = Path.Combine(directory, CheckpointStore.ModelFile);
        AtomicFile.Write(modelPath, s => Safetensors.SaveStateDict(s, contiguous, leaveOpen: true));
        foreach (var t in contiguous.Values) t.Dispose();

        int? bos = tokenizerFiles.SpecialId(SpecialTokens.EndOfText);
        int?[] eos = [tokenizerFiles.SpecialId(SpecialTokens.EndOfTurn), bos];
        var config = model.Config.ToHuggingFace();
        if (bos is not null) config["bos_token_id"] = bos;
        config["eos_token_id"] = new JsonArray([.. eos.OfType<int>().Select(i => (JsonNode)i)]);
        TokenizerFiles.WriteJson(Path.Combine(directory, CheckpointStore.ConfigFile), config);

        var generation = new JsonObject
        {
            ["bos_token_id"] = bos,
            ["eos_token_id"] = new JsonArray([.. eos.OfType<int>().Select(i => (JsonNode)i)]),
            ["max_length"] = model.Config.ContextLength,
            ["do_sample"] = false,
        };
        TokenizerFiles.WriteJson(Path.Combine(directory, "generation_config.json"), generation);
        tokenizerFiles.WriteHuggingFace(directory, model.Config.ContextLength);

        string[] files = [CheckpointStore.ConfigFile, CheckpointStore.ModelFile, "generation_config.json", "tokenizer.json", "tokenizer_config.json", BpeModel.VocabFile, BpeModel.MergesFile, BpeModel.SpecialTokensFile];
        return new ExportResult(directory, files, leftOut, tensors.Values.Sum(t => t.numel()));
    }

    /// <summary>The architecture a Hugging Face config.json names (architectures[0], else model_type).</summary>
    public static string Architecture(JsonNode config) =>
        config["architectures"] is JsonArray { Count: > 0 } a ? a[0]!.GetValue<string>() : config["model_type"]?.GetValue<string>() ?? "unknown";

    /// <summary>Reads a Hugging Face directory's config.json.</summary>
    public static JsonNode ReadConfig(string directory)
    {
        var path = Path.Combine(directory, CheckpointStore.ConfigFile);
        if (!File.Exists(path)) throw new UserError($"{directory} has no config.json; give a Hugging Face model directory.");
        try { return JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new UserError($"{path} is not valid JSON ({e.Message}); download the model again.", e); }
    }

    /// <summary>A Llama-family or GPT-2 directory as a <see cref="GptModel"/> (fp32, on the CPU).</summary>
    public static GptModel Load(string directory)
    {
        var json = ReadConfig(directory);
        bool gpt2 = GptConfig.IsGpt2Json(json);
        if (gpt2) RequireSupportedGpt2(json, directory);
        else RequireSupportedLlama(json, directory);

        var config = GptConfig.FromHuggingFace(json);
        var model = new GptModel(config);
        var expected = model.state_dict();
        var loaded = ReadTensors(directory);
        try
        {
            using var scope = torch.NewDisposeScope(); // GPT-2's transposed and split views
            var named = gpt2 ? Gpt2Layout.FromHuggingFace(loaded, config.Layers, directory) : LlamaTensors(loaded, config);
            var problems = expected.Where(kv => !named.TryGetValue(kv.Key, out var t) || !t.shape.SequenceEqual(kv.Value.shape))
                .Select(kv => named.TryGetValue(kv.Key, out var t) ? $"{kv.Key} is [{string.Join(", ", t.shape)}], expected [{string.Join(", ", kv.Value.shape)}]" : $"missing {kv.Key}")
                .Concat(named.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected {k}"))
                .ToList();
            if (problems.Count > 0)
                throw new UserError($"The weights in {directory} do not match its config.json ({string.Join("; ", problems.Take(3))}); download the checkpoint again.");
            using (no_grad())
                foreach (var (name, target) in expected) target.copy_(named[name].to(ScalarType.Float32));
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
        model.eval();
        return model;
    }

    /// <summary>A Llama checkpoint's tensors already carry our names; a tied one may still hold lm_head.weight (a copy of the embedding), and RoPE tables are recomputed.</summary>
    static Dictionary<string, Tensor> LlamaTensors(Dictionary<string, Tensor> loaded, GptConfig config) =>
        loaded.Where(kv => !(config.TiedEmbeddings && kv.Key == "lm_head.weight") && !kv.Key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);

    static void RequireSupportedLlama(JsonNode json, string directory)
    {
        var arch = Architecture(json);
        if (arch is not ("LlamaForCausalLM" or "llama" or "MistralForCausalLM" or "mistral"))
            throw new UserError($"{directory} holds a {arch} model; Gpt4Sharp imports LlamaForCausalLM (and Mistral) and GPT2LMHeadModel checkpoints only.");
        foreach (var (key, what) in new[] { ("rope_scaling", "RoPE scaling"), ("sliding_window", "sliding-window attention") })
            if (json[key] is { } v && v.ToJsonString() != "null")
                throw new UserError($"{directory} uses {what} ({key}), which Gpt4Sharp's model does not implement; import a checkpoint without it.");
        if (json["attention_bias"]?.GetValue<bool>() == true || json["mlp_bias"]?.GetValue<bool>() == true)
            throw new UserError($"{directory} has biases in attention or MLP layers, which Gpt4Sharp's Llama model does not have; import a checkpoint without them.");
        if ((json["hidden_act"]?.GetValue<string>() ?? "silu") != "silu")
            throw new UserError($"{directory} uses the {json["hidden_act"]} activation; Gpt4Sharp's SwiGLU needs silu.");
    }

    /// <summary>GPT2Config switches that change what the layers compute and that GPT-2 itself never used.</summary>
    static void RequireSupportedGpt2(JsonNode json, string directory)
    {
        var activation = json["activation_function"]?.GetValue<string>() ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw new UserError($"{directory} uses the {activation} activation; Gpt4Sharp's GPT-2 MLP computes GPT-2's tanh-approximated GELU (gelu_new) only.");
        if (json["scale_attn_weights"]?.GetValue<bool>() == false || json["scale_attn_by_inverse_layer_idx"]?.GetValue<bool>() == true)
            throw new UserError($"{directory} scales attention differently from GPT-2 (scale_attn_weights or scale_attn_by_inverse_layer_idx); import a checkpoint with GPT-2's 1/sqrt(head width) scaling.");
        if (json["add_cross_attention"]?.GetValue<bool>() == true)
            throw new UserError($"{directory} has cross-attention layers (add_cross_attention), which a decoder-only Gpt4Sharp model does not have; import a plain GPT2LMHeadModel.");
    }

    /// <summary>All tensors of a directory: model.safetensors, or every shard named in model.safetensors.index.json.</summary>
    public static Dictionary<string, Tensor> ReadTensors(string directory)
    {
        var single = Path.Combine(directory, CheckpointStore.ModelFile);
        var index = Path.Combine(directory, IndexFile);
        IEnumerable<string> files;
        if (File.Exists(index))
        {
            JsonNode? map;
            try { map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]; }
            catch (JsonException e) { throw new UserError($"{index} is not valid JSON ({e.Message}); download the model again.", e); }
            if (map is not JsonObject weightMap) throw new UserError($"{index} has no weight_map; download the model again.");
            files = weightMap.Select(kv => kv.Value!.GetValue<string>()).Distinct().Select(f => Path.Combine(directory, f));
        }
        else if (File.Exists(single)) files = [single];
        else throw new UserError($"{directory} has neither model.safetensors nor {IndexFile}; give a directory with safetensors weights (convert .bin checkpoints with transformers first).");

        var tensors = new Dictionary<string, Tensor>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new UserError($"The shard {Path.GetFileName(file)} listed in {IndexFile} is missing from {directory}; download it.");
            SafetensorsIndex.Read(file); // clear error for a truncated or corrupt header
            foreach (var (name, t) in Safetensors.LoadStateDict(file)) tensors[name] = t.DetachFromDisposeScope();
        }
        return tensors;
    }

    /// <summary>
    /// Imports a Hugging Face LlamaForCausalLM or GPT2LMHeadModel directory as a Gpt4Sharp run
    /// directory: RUN/checkpoints/step-000000 (verified like any checkpoint) and RUN/tokenizer.
    /// A tokenizer without the project's special tokens (a stock GPT-2 one) gains them, and the
    /// vocabulary grows to hold them, so chat and fine-tuning work on the import.
    /// </summary>
    public static string Import(string hfDirectory, string runDirectory, Action<string>? log = null)
    {
        var tokenizer = TokenizerFromHuggingFace(hfDirectory);
        var withSpecials = tokenizer.WithSpecials(SpecialTokens.All);
        using var model = WithVocabulary(Load(hfDirectory), withSpecials.Tokens.Count);
        if (withSpecials.Specials.Count > tokenizer.Specials.Count)
            log?.Invoke($"Added the special tokens {string.Join(" ", withSpecials.Specials.Keys.Except(tokenizer.Specials.Keys))} to the tokenizer (vocabulary {model.Config.VocabSize:N0}); fine-tune before chatting.");
        tokenizer = withSpecials;
        var tokenizerDir = Path.Combine(runDirectory, ModelBundle.TokenizerDirectory);
        Directory.CreateDirectory(tokenizerDir);
        tokenizer.WriteHuggingFace(tokenizerDir, model.Config.ContextLength);

        var run = RunInfo.Capture("import", 0, new { source = Path.GetFullPath(hfDirectory) });
        var store = new CheckpointStore(runDirectory);
        var config = model.Config.ToHuggingFace();
        config[ModelBundle.TokenizerKey] = ModelBundle.TokenizerDirectory;
        return store.Save(model, config, null, new TrainerState(), run);
    }

    /// <summary>
    /// The model with its vocabulary grown to at least <paramref name="size"/> (a larger one is
    /// returned as is; a grown copy replaces and disposes it). New embedding (and head) rows start
    /// at the mean of the trained ones, the usual choice for added tokens: they then score like an
    /// average token instead of at random, and the old tokens' logits are unchanged.
    /// </summary>
    static GptModel WithVocabulary(GptModel model, int size)
    {
        int old = model.Config.VocabSize;
        if (size <= old) return model;
        using var original = model;
        var grown = new GptModel(model.Config with { VocabSize = size });
        var source = model.state_dict();
        using var noGrad = no_grad();
        foreach (var (name, target) in grown.state_dict())
        {
            var value = source[name];
            if (name is "model.embed_tokens.weight" or "lm_head.weight")
            {
                target.narrow(0, 0, old).copy_(value);
                using var mean = value.mean([0L], keepdim: true);
                target.narrow(0, old, size - old).copy_(mean.expand(size - old, -1));
            }
            else target.copy_(value);
        }
        grown.eval();
        return grown;
    }

    /// <summary>The tokenizer of a Hugging Face directory: vocab.json + merges.txt, or the byte-level BPE inside tokenizer.json.</summary>
    static TokenizerFiles TokenizerFromHuggingFace(string directory)
    {
        if (File.Exists(Path.Combine(directory, BpeModel.VocabFile))) return TokenizerFiles.Read(directory);
        var path = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(path)) throw new UserError($"{directory} has no tokenizer (vocab.json + merges.txt or tokenizer.json); copy the model's tokenizer files there.");
        var model = JsonNode.Parse(File.ReadAllText(path))?["model"];
        if (model?["type"]?.GetValue<string>() != "BPE" || model["vocab"] is not JsonObject vocab || model["merges"] is not JsonArray merges)
            throw new UserError($"{path} does not hold a byte-level BPE model; only GPT-2-style byte-level BPE tokenizers can be imported.");
        // Unpack tokenizer.json into the GPT-2 file layout in a scratch directory, then read it like any other.
        var scratch = Path.Combine(Path.GetTempPath(), $"g4s-import-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            TokenizerFiles.WriteJson(Path.Combine(scratch, BpeModel.VocabFile), vocab.DeepClone());
            File.WriteAllLines(Path.Combine(scratch, BpeModel.MergesFile),
                merges.Select(m => m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m!.GetValue<string>()));
            File.Copy(path, Path.Combine(scratch, "tokenizer.json"));
            return TokenizerFiles.Read(scratch);
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }
}
