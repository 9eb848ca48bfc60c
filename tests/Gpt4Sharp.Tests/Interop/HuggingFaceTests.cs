using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Interop;

public class HuggingFaceTests
{
    static readonly string Text = "The quick brown fox jumps over the lazy dog.";

    [Fact]
    public void ExportThenImportGivesIdenticalLogitsAndTokenizer()
    {
        using var model = InteropModels.Create(tied: false);
        var hf = RepoPaths.NewTempDir();
        var result = HuggingFace.Export(model, InteropModels.Tokenizer, hf);
        Assert.Empty(result.LeftOut);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!;
        Assert.Equal("LlamaForCausalLM", config["architectures"]![0]!.GetValue<string>());
        var names = SafetensorsIndex.Read(Path.Combine(hf, "model.safetensors")).Select(t => t.Name).ToHashSet();
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", names);
        Assert.Contains("lm_head.weight", names);
        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer_config.json")))!;
        Assert.Equal(TokenizerFiles.JinjaChatTemplate, tokenizerConfig["chat_template"]!.GetValue<string>());
        Assert.Equal("<|end|>", tokenizerConfig["eos_token"]!.GetValue<string>());
        var tokenizerJson = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer.json")))!;
        Assert.Equal(InteropModels.Tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn),
            tokenizerJson["added_tokens"]!.AsArray().Single(t => t!["content"]!.GetValue<string>() == "<|end|>")!["id"]!.GetValue<int>());

        var run = RepoPaths.NewTempDir();
        HuggingFace.Import(hf, run);
        using var bundle = ModelBundle.Load(run);
        var ids = InteropModels.Tokenizer.Encode(Text);
        Assert.Equal(ids, bundle.Tokenizer.Encode(Text));
        Assert.Equal(InteropModels.LastLogits(model, ids), InteropModels.LastLogits(bundle.Model, ids));
        var chat = new[] { new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello!") };
        Assert.Equal(ChatTemplate.Encode(InteropModels.Tokenizer, chat).Ids, ChatTemplate.Encode(bundle.Tokenizer, chat).Ids);
    }

    /// <summary>A checkpoint laid out as the Hub ships large models: bf16 shards, an index file, tied lm_head copy, tokenizer.json only.</summary>
    [Fact]
    public void ImportsShardedBf16CheckpointWithOnlyTokenizerJson()
    {
        using var model = InteropModels.Create(tied: true);
        var exported = RepoPaths.NewTempDir();
        HuggingFace.Export(model, InteropModels.Tokenizer, exported);

        var hub = RepoPaths.NewTempDir();
        File.Copy(Path.Combine(exported, "config.json"), Path.Combine(hub, "config.json"));
        File.Copy(Path.Combine(exported, "tokenizer.json"), Path.Combine(hub, "tokenizer.json"));
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.BFloat16));
        state["lm_head.weight"] = state["model.embed_tokens.weight"];
        var shards = state.Keys.Order().Chunk((state.Count + 1) / 2).ToArray();
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Length; i++)
        {
            var file = $"model-{i + 1:D5}-of-{shards.Length:D5}.safetensors";
            Safetensors.SaveStateDict(Path.Combine(hub, file), shards[i].ToDictionary(k => k, k => state[k]));
            foreach (var name in shards[i]) weightMap[name] = file;
        }
        File.WriteAllText(Path.Combine(hub, HuggingFace.IndexFile), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());

        var run = RepoPaths.NewTempDir();
        HuggingFace.Import(hub, run);
        using var bundle = ModelBundle.Load(run);
        var ids = InteropModels.Tokenizer.Encode(Text);
        Assert.Equal(ids, bundle.Tokenizer.Encode(Text));
        // The import holds exactly the bf16 values, widened to fp32.
        using var rounded = InteropModels.Create(tied: true);
        using (no_grad())
            foreach (var (name, p) in rounded.named_parameters()) p.copy_(p.to(ScalarType.BFloat16).to(ScalarType.Float32));
        Assert.Equal(InteropModels.LastLogits(rounded, ids), InteropModels.LastLogits(bundle.Model, ids));
    }

    [Fact]
    public void RefusesWhatItCannotImportInOneSentence()
    {
        var dir = RepoPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"architectures": ["FalconForCausalLM"], "hidden_size": 64}""");
        Assert.Contains("FalconForCausalLM", Assert.Throws<UserError>(() => HuggingFace.Load(dir)).Message);

        using var model = InteropModels.Create();
        HuggingFace.Export(model, InteropModels.Tokenizer, dir);
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Assert.Contains("neither model.safetensors", Assert.Throws<UserError>(() => HuggingFace.Import(dir, RepoPaths.NewTempDir())).Message);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        config["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 2.0 };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        Assert.Contains("RoPE scaling", Assert.Throws<UserError>(() => HuggingFace.Load(dir)).Message);
    }

    [Fact]
    public void TiktokenModelsAreRefusedForExport()
    {
        using var model = new Gpt4Sharp.Model.GptModel(Gpt4Sharp.Model.GptConfig.Create(100_300, 16, 16, 1, 2));
        var error = Assert.Throws<UserError>(() => HuggingFace.Export(model, Tokenizers.Load("cl100k_base"), RepoPaths.NewTempDir()));
        Assert.Contains("cl100k_base", error.Message);
    }

    [Theory]
    [InlineData(AttentionKind.SparseStrided)]
    [InlineData(AttentionKind.Recurrent)]
    public void Sparse_and_recurrent_models_are_refused_for_hf_and_gguf_export(AttentionKind attention)
    {
        var config = new GptConfig { VocabSize = 640, ContextLength = 96, DModel = 64, Layers = 2, Heads = 4, KvHeads = 2, FfnHidden = 96, Attention = attention, MemoryLength = attention == AttentionKind.Recurrent ? 32 : 0 };
        using var model = new GptModel(config);
        var dir = RepoPaths.NewTempDir();
        Assert.Contains("gpt4sharp_attention", Assert.Throws<UserError>(() => HuggingFace.Export(model, InteropModels.Tokenizer, dir)).Message);
        Assert.Contains("gpt4sharp_attention", Assert.Throws<UserError>(() => GgufExport.Export(model, InteropModels.Tokenizer, Path.Combine(dir, "m.gguf"), GgmlType.F32)).Message);
        Assert.Empty(Directory.GetFiles(dir));
    }
}
