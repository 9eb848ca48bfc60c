using System.Text.Json.Nodes;
using Gpt4Sharp.Chat;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Model;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Tests.Interop;

/// <summary>A GPT2LMHeadModel directory in Hugging Face's layout, imported as a Gpt4Sharp run and used by the whole stack.</summary>
public class Gpt2ImportTests
{
    const int Vocab = 640, Positions = 64, D = 32, Layers = 2, Heads = 4;
    const string Text = "The quick brown fox jumps over the lazy dog.";

    /// <summary>A GPT2LMHeadModel directory as the Hub ships one: Conv1D weights [in, out], no prefix, attention-mask buffers, tokenizer files.</summary>
    internal static Dictionary<string, Tensor> WriteHubCheckpoint(string dir, int vocab = Vocab)
    {
        var g = new Generator(9);
        Tensor R(params long[] shape) => (torch.randn(shape, generator: g) * 0.2).DetachFromDisposeScope();
        var t = new Dictionary<string, Tensor> { ["wte.weight"] = R(vocab, D), ["wpe.weight"] = R(Positions, D), ["ln_f.weight"] = 1 + R(D), ["ln_f.bias"] = R(D) };
        for (int i = 0; i < Layers; i++)
        {
            var p = $"h.{i}.";
            t[p + "ln_1.weight"] = 1 + R(D); t[p + "ln_1.bias"] = R(D);
            t[p + "ln_2.weight"] = 1 + R(D); t[p + "ln_2.bias"] = R(D);
            t[p + "attn.c_attn.weight"] = R(D, 3 * D); t[p + "attn.c_attn.bias"] = R(3 * D);
            t[p + "attn.c_proj.weight"] = R(D, D); t[p + "attn.c_proj.bias"] = R(D);
            t[p + "mlp.c_fc.weight"] = R(D, 4 * D); t[p + "mlp.c_fc.bias"] = R(4 * D);
            t[p + "mlp.c_proj.weight"] = R(4 * D, D); t[p + "mlp.c_proj.bias"] = R(D);
            t[p + "attn.bias"] = torch.ones(1, 1, Positions, Positions).tril();
        }
        Safetensors.SaveStateDict(Path.Combine(dir, "model.safetensors"), t);
        File.WriteAllText(Path.Combine(dir, "config.json"), new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["model_type"] = "gpt2", ["vocab_size"] = vocab, ["n_positions"] = Positions,
            ["n_ctx"] = Positions, ["n_embd"] = D, ["n_layer"] = Layers, ["n_head"] = Heads, ["n_inner"] = null,
            ["layer_norm_epsilon"] = 1e-5, ["activation_function"] = "gelu_new",
        }.ToJsonString());
        TokenizerFiles.From(InteropModels.Tokenizer).WriteHuggingFace(dir, Positions);
        return t;
    }

    /// <summary>GPT-2's forward written out from the raw tensors: Conv1D is x·W + b, attention masked by hand.</summary>
    static Tensor Reference(Dictionary<string, Tensor> w, Tensor ids)
    {
        long T = ids.shape[1];
        Tensor Ln(Tensor x, string p) => F.layer_norm(x, [D], w[p + ".weight"], w[p + ".bias"], 1e-5);
        var x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)];
        var mask = torch.ones(T, T).tril().eq(0);
        for (int i = 0; i < Layers; i++)
        {
            var p = $"h.{i}.";
            var qkv = Ln(x, p + "ln_1").matmul(w[p + "attn.c_attn.weight"]) + w[p + "attn.c_attn.bias"];
            var parts = qkv.split(D, -1);
            Tensor Heads_(Tensor z) => z.view(1, T, Heads, D / Heads).transpose(1, 2);
            var scores = Heads_(parts[0]).matmul(Heads_(parts[1]).transpose(-2, -1)) / Math.Sqrt(D / Heads);
            var att = scores.masked_fill(mask, double.NegativeInfinity).softmax(-1).matmul(Heads_(parts[2]));
            x = x + att.transpose(1, 2).reshape(1, T, D).matmul(w[p + "attn.c_proj.weight"]) + w[p + "attn.c_proj.bias"];
            var u = Ln(x, p + "ln_2").matmul(w[p + "mlp.c_fc.weight"]) + w[p + "mlp.c_fc.bias"];
            var gelu = u * torch.sigmoid(2 * Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)); // = 0.5·u·(1 + tanh(...))
            x = x + gelu.matmul(w[p + "mlp.c_proj.weight"]) + w[p + "mlp.c_proj.bias"];
        }
        return Ln(x, "ln_f").matmul(w["wte.weight"].t());
    }

    /// <summary>One Hub checkpoint imported once for the whole class (the tests only read it).</summary>
    static readonly Lazy<(string Hub, string Run, Dictionary<string, Tensor> Weights)> Imported = new(() =>
    {
        var hub = RepoPaths.NewTempDir();
        var weights = WriteHubCheckpoint(hub);
        var run = RepoPaths.NewTempDir();
        HuggingFace.Import(hub, run);
        return (hub, run, weights);
    });

    /// <summary>Same shape and every element bit-for-bit equal.</summary>
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && torch.equal(a, b).all().item<bool>();

    static Tensor Ids(int[] ids) => torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);

    [Fact]
    public void Import_gives_the_logits_of_the_hand_written_gpt2_forward()
    {
        var (_, run, weights) = Imported.Value;
        using var bundle = ModelBundle.Load(run);
        Assert.Equal(ModelArchitecture.Gpt2, bundle.Model.Config.Architecture);
        Assert.Equal(Positions, bundle.Model.Config.ContextLength);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = Ids(bundle.Tokenizer.Encode(Text));
        var maxDiff = (bundle.Model.Forward(ids) - Reference(weights, ids)).abs().max().item<float>();
        Assert.True(maxDiff < 1e-5, $"max difference {maxDiff}");
    }

    [Fact]
    public void Export_hf_writes_the_gpt2_layout_and_imports_back_bit_identically()
    {
        var (_, run, weights) = Imported.Value;
        using var bundle = ModelBundle.Load(run);
        var hf = RepoPaths.NewTempDir();
        var result = HuggingFace.Export(bundle.Model, bundle.Tokenizer, hf);
        Assert.Empty(result.LeftOut);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!;
        Assert.Equal("GPT2LMHeadModel", config["architectures"]![0]!.GetValue<string>());

        // Every tensor is the Hub's own, under its "transformer." name, to the bit (only the mask buffers are not written).
        var exported = Safetensors.LoadStateDict(Path.Combine(hf, "model.safetensors"));
        var original = weights.Where(kv => !kv.Key.EndsWith(".attn.bias", StringComparison.Ordinal)).ToDictionary(kv => "transformer." + kv.Key, kv => kv.Value);
        Assert.Equal(original.Keys.Order(), exported.Keys.Order());
        foreach (var (name, tensor) in original) Assert.True(Same(tensor, exported[name]), name);

        var again = RepoPaths.NewTempDir();
        HuggingFace.Import(hf, again);
        using var reloaded = ModelBundle.Load(again);
        var before = bundle.Model.state_dict();
        foreach (var (name, tensor) in reloaded.Model.state_dict()) Assert.True(Same(before[name], tensor), name);
        Assert.Equal(bundle.Model.Config, reloaded.Model.Config);
    }

    [Fact]
    public async Task Sample_and_chat_run_on_an_imported_gpt2()
    {
        using var bundle = ModelBundle.Load(Imported.Value.Run);
        var generator = new TextGenerator(bundle.Model, bundle.Tokenizer);
        var (_, generated, _) = await generator.GenerateAsync("The quick", SamplingOptions.Greedy(10));
        var tokens = generated.Where(t => t >= 0).ToArray(); // -1 carries text held back for UTF-8
        Assert.Equal(10, tokens.Length);
        // Cached decoding continues the learned positions: each greedy token is the full forward's argmax.
        var sequence = bundle.Tokenizer.Encode("The quick").ToList();
        using (torch.no_grad())
            foreach (var token in tokens)
            {
                using var scope = torch.NewDisposeScope();
                Assert.Equal(token, (int)bundle.Model.Forward(Ids([.. sequence]))[0, -1].argmax().item<long>());
                sequence.Add(token);
            }

        var options = new ChatSessionOptions { SystemPrompt = "Be brief.", Sampling = SamplingOptions.Greedy(5) };
        using var cached = new ChatSession(bundle.Model, bundle.Tokenizer, options);
        using var reencoded = new ChatSession(bundle.Model, bundle.Tokenizer, options with { ReuseCache = false });
        var (first, _) = await cached.AskAsync("Hi.");
        Assert.Equal((await reencoded.AskAsync("Hi.")).Answer, first);
        // (Later turns may differ between the two: an answer that stops inside a UTF-8 character re-encodes to other ids.)
        var (_, usage) = await cached.AskAsync("Name a fox.");
        Assert.True(usage.CachedTokens > 0 && usage.CompletionTokens > 0);
    }

    [Fact]
    public void A_short_sft_run_trains_an_imported_gpt2_and_saves_a_gpt2_run()
    {
        var chats = Path.Combine(RepoPaths.NewTempDir(), "chats.jsonl");
        File.WriteAllLines(chats, Enumerable.Range(0, 12).Select(i =>
            $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"Say ok {i % 3}\"}}, {{\"role\": \"assistant\", \"content\": \"ok {i % 3}\"}}]}}"));
        var sft = RepoPaths.NewTempDir();
        var result = FineTuning.Run(new FineTuneSettings
        {
            BaseModel = Imported.Value.Run, OutDirectory = sft, DataFile = chats, Device = "cpu", SamplePrompts = [],
            Train = new TrainConfig { Steps = 2, BatchSize = 2, SequenceLength = 32, LearningRate = 1e-3, WarmupSteps = 1, EvalEvery = 0, EvalBatches = 1, CheckpointEvery = 0 },
        }, resume: false);
        Assert.True(result.Completed);

        using var trained = ModelBundle.Load(sft);
        using var imported = ModelBundle.Load(Imported.Value.Run);
        Assert.Equal(imported.Model.Config, trained.Model.Config);
        var before = imported.Model.state_dict();
        Assert.Contains(trained.Model.state_dict(), kv => !Same(before[kv.Key], kv.Value));
    }

    /// <summary>A reward for PPO: the share of lowercase letters in a reply.</summary>
    sealed class Lowercase : Gpt4Sharp.Alignment.IRewardScorer
    {
        public string Name => "lowercase";
        public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) =>
            pairs.Select(p => p.Response.Length == 0 ? 0.0 : p.Response.Count(char.IsAsciiLetterLower) / (double)p.Response.Length).ToList();
    }

    [Fact]
    public async Task Ppo_steps_and_the_evaluation_harness_run_on_an_imported_gpt2()
    {
        using var policy = ModelBundle.Load(Imported.Value.Run);
        using var reference = ModelBundle.Load(Imported.Value.Run);
        var settings = new Gpt4Sharp.Alignment.Ppo.PpoSettings { Steps = 2, PromptsPerStep = 1, SamplesPerPrompt = 4, MaxNewTokens = 6, Epochs = 1, MinibatchSize = 4, Seed = 3 };
        using (var ppo = new Gpt4Sharp.Alignment.Ppo.PpoTrainer(policy.Model, reference.Model, policy.Tokenizer, [new Lowercase()], settings, prompts: ["hello"]))
            for (int i = 0; i < settings.Steps; i++)
            {
                var step = ppo.Step();
                Assert.True(double.IsFinite(step.Reward) && double.IsFinite(step.Kl) && double.IsFinite(step.ValueLoss));
            }

        var model = Gpt4Sharp.Evaluation.CompletionModels.Load(Imported.Value.Run);
        var completions = await model.CompleteAsync("def add(a, b):", n: 3, temperature: 1.0, maxTokens: 8, stop: ["\n\n"], CancellationToken.None);
        Assert.Equal(3, completions.Count);
        Assert.True(double.IsFinite(model.LogLikelihood("The quick brown", " fox")));
    }

    [Fact]
    public void A_stock_gpt2_tokenizer_gains_the_chat_tokens_and_the_vocabulary_grows_around_them()
    {
        // Like GPT-2's own files: vocab.json + merges.txt whose only special token, <|endoftext|>, is the last id.
        var files = TokenizerFiles.From(InteropModels.Tokenizer);
        int stock = files.SpecialId(SpecialTokens.EndOfText)!.Value + 1;
        var hub = RepoPaths.NewTempDir();
        var weights = WriteHubCheckpoint(hub, stock);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", BpeModel.SpecialTokensFile }) File.Delete(Path.Combine(hub, file));
        var vocab = new JsonObject();
        for (int id = 0; id < stock; id++) vocab[files.Tokens[id]!] = id;
        File.WriteAllText(Path.Combine(hub, BpeModel.VocabFile), vocab.ToJsonString());

        var run = RepoPaths.NewTempDir();
        var notes = new List<string>();
        HuggingFace.Import(hub, run, notes.Add);
        Assert.Contains(SpecialTokens.EndOfTurn, Assert.Single(notes));
        using var bundle = ModelBundle.Load(run);
        Assert.Equal(stock + SpecialTokens.All.Count - 1, bundle.Model.Config.VocabSize);
        Assert.NotEmpty(ChatTemplate.Encode(bundle.Tokenizer, [new ChatMessage("user", "Hi")], addGenerationPrompt: true).Ids);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = Ids(bundle.Tokenizer.Encode(Text));
        var maxDiff = (bundle.Model.Forward(ids).narrow(-1, 0, stock) - Reference(weights, ids)).abs().max().item<float>();
        Assert.True(maxDiff < 1e-5, $"max difference {maxDiff}");
        var added = bundle.Model.state_dict()["model.embed_tokens.weight"].narrow(0, stock, SpecialTokens.All.Count - 1);
        Assert.True(torch.allclose(added, weights["wte.weight"].mean([0L], keepdim: true).expand_as(added)));
    }

    [Fact]
    public void Refuses_what_it_cannot_import_and_gguf_export_in_one_sentence()
    {
        var dir = RepoPaths.NewTempDir();
        WriteHubCheckpoint(dir);
        void SetConfig(string key, JsonNode value)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
            config[key] = value;
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        }
        SetConfig("n_layer", 3);
        Assert.Contains("missing h.2.", Assert.Throws<UserError>(() => HuggingFace.Load(dir)).Message);
        SetConfig("n_layer", Layers);
        SetConfig("activation_function", "relu");
        Assert.Contains("relu activation", Assert.Throws<UserError>(() => HuggingFace.Load(dir)).Message);

        using var bundle = ModelBundle.Load(Imported.Value.Run);
        var gguf = Assert.Throws<UserError>(() => GgufExport.Export(bundle.Model, bundle.Tokenizer, Path.Combine(dir, "m.gguf"), GgmlType.F16));
        Assert.Contains("llama architecture only", gguf.Message);
    }
}
