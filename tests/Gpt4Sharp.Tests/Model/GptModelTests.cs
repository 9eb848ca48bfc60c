using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Model;

public class GptModelTests
{
    static readonly GptConfig Tiny = new() { VocabSize = 97, ContextLength = 32, DModel = 32, Layers = 2, Heads = 4, KvHeads = 4, FfnHidden = 64 };

    [Fact]
    public void State_dict_uses_hugging_face_llama_names_and_shapes()
    {
        using var model = new GptModel(Tiny with { TiedEmbeddings = false, KvHeads = 2 });
        var shapes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [97, 32],
            ["model.norm.weight"] = [32],
            ["lm_head.weight"] = [97, 32],
        };
        for (int i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}.";
            expected[p + "input_layernorm.weight"] = [32];
            expected[p + "post_attention_layernorm.weight"] = [32];
            expected[p + "self_attn.q_proj.weight"] = [32, 32];
            expected[p + "self_attn.k_proj.weight"] = [16, 32]; // 2 kv heads of width 8
            expected[p + "self_attn.v_proj.weight"] = [16, 32];
            expected[p + "self_attn.o_proj.weight"] = [32, 32];
            expected[p + "mlp.gate_proj.weight"] = [64, 32];
            expected[p + "mlp.up_proj.weight"] = [64, 32];
            expected[p + "mlp.down_proj.weight"] = [32, 64];
        }
        Assert.Equal(expected.Keys.Order(), shapes.Keys.Order());
        foreach (var (name, shape) in expected) Assert.Equal(shape, shapes[name]);
    }

    [Fact]
    public void Tied_model_has_no_lm_head_and_counts_parameters_like_its_config()
    {
        using var model = new GptModel(Tiny);
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);
        Assert.Equal(Tiny.ParameterCount, model.ParameterCount);
        using var untied = new GptModel(Tiny with { TiedEmbeddings = false, KvHeads = 1 });
        Assert.Equal((Tiny with { TiedEmbeddings = false, KvHeads = 1 }).ParameterCount, untied.ParameterCount);
    }

    [Fact]
    public void Flops_per_token_follow_6N_plus_12LTd()
    {
        double expected = 6.0 * Tiny.ParameterCount + 12.0 * 2 * 16 * 32;
        Assert.Equal(expected, Tiny.TrainingFlopsPerToken(16));
    }

    [Theory]
    [InlineData(0, 128, 4, 4, "vocab size")]
    [InlineData(97, 30, 4, 4, "divisible")]
    [InlineData(97, 32, 4, 3, "multiple of key/value heads")]
    [InlineData(97, 20, 4, 4, "even")]
    public void Bad_config_values_are_one_clear_error(int vocab, int d, int heads, int kvHeads, string expected)
    {
        var e = Assert.Throws<UserError>(() => new GptConfig { VocabSize = vocab, DModel = d, Heads = heads, KvHeads = kvHeads }.Validate());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Default_ffn_width_is_eight_thirds_d_rounded_up_to_64()
    {
        Assert.Equal(704, new GptConfig { DModel = 256 }.FfnWidth);
        Assert.Equal(1408, new GptConfig { DModel = 512 }.FfnWidth);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(2)]
    public void Incremental_decoding_with_a_kv_cache_matches_the_full_forward(int kvHeads)
    {
        using var scope = torch.NewDisposeScope();
        using var model = new GptModel(Tiny with { KvHeads = kvHeads });
        model.eval();
        using var noGrad = torch.no_grad();
        var tokens = torch.randint(0, 97, [2, 20], generator: new Generator(7));
        var full = model.Forward(tokens);

        using var cache = model.NewCache(batch: 2);
        var prefix = model.Forward(tokens.narrow(1, 0, 7), cache);      // a prompt in one go
        var pieces = new List<Tensor> { prefix, model.Forward(tokens.narrow(1, 7, 5), cache) }; // a chunk after a prefix
        for (int t = 12; t < 20; t++) pieces.Add(model.Forward(tokens.narrow(1, t, 1), cache));  // then token by token
        var incremental = torch.cat(pieces, dim: 1);

        Assert.Equal(20, cache.Length);
        var maxDiff = (full - incremental).abs().max().item<float>();
        Assert.True(maxDiff < 1e-5, $"max difference {maxDiff}");
    }

    [Fact]
    public void Loss_ignores_masked_targets_and_starts_near_log_vocab()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new GptModel(Tiny);
        var tokens = torch.randint(0, 97, [2, 16], generator: new Generator(3));
        var targets = tokens.roll(-1, 1);
        var (_, loss) = model.Forward(tokens, targets);
        Assert.InRange(loss.item<float>(), Math.Log(97) - 0.5, Math.Log(97) + 0.5);

        var masked = targets.clone();
        masked[.., ..8] = torch.tensor(-100L);
        var logits = model.Forward(tokens);
        var expected = GptModel.Loss(logits.narrow(1, 8, 8), targets.narrow(1, 8, 8));
        Assert.Equal(expected.item<float>(), GptModel.Loss(logits, masked).item<float>(), 5);
    }

    [Fact]
    public void Input_beyond_the_context_is_a_clear_error()
    {
        using var model = new GptModel(Tiny);
        var e = Assert.Throws<UserError>(() => model.Forward(torch.zeros(1, 33, dtype: ScalarType.Int64)));
        Assert.Contains("context", e.Message);
    }

    [Fact]
    public void Hugging_face_config_round_trips()
    {
        var config = Tiny with { TiedEmbeddings = false, KvHeads = 2, RopeTheta = 500000 };
        Assert.Equal(config, GptConfig.FromHuggingFace(config.ToHuggingFace()));
    }
}
