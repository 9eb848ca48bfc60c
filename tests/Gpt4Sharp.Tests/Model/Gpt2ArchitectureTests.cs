using Gpt4Sharp.Inference;
using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Model;

public class Gpt2ArchitectureTests
{
    static readonly GptConfig Tiny = new()
    {
        Architecture = ModelArchitecture.Gpt2, VocabSize = 97, ContextLength = 32, DModel = 32, Layers = 2, Heads = 4, KvHeads = 4,
    };

    [Fact]
    public void State_dict_has_biases_layer_norms_a_position_table_and_a_gelu_mlp()
    {
        using var model = new GptModel(Tiny);
        var shapes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [97, 32],
            ["model.embed_positions.weight"] = [32, 32],
            ["model.norm.weight"] = [32],
            ["model.norm.bias"] = [32],
        };
        for (int i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}.";
            foreach (var norm in new[] { "input_layernorm", "post_attention_layernorm" })
                (expected[$"{p}{norm}.weight"], expected[$"{p}{norm}.bias"]) = ([32], [32]);
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
                (expected[$"{p}self_attn.{proj}.weight"], expected[$"{p}self_attn.{proj}.bias"]) = ([32, 32], [32]);
            (expected[p + "mlp.c_fc.weight"], expected[p + "mlp.c_fc.bias"]) = ([128, 32], [128]); // 4·d by default
            (expected[p + "mlp.c_proj.weight"], expected[p + "mlp.c_proj.bias"]) = ([32, 128], [32]);
        }
        Assert.Equal(expected.Keys.Order(), shapes.Keys.Order());
        foreach (var (name, shape) in expected) Assert.Equal(shape, shapes[name]);
        Assert.Equal(Tiny.ParameterCount, model.ParameterCount);
        // Biases and LayerNorm shifts start at zero, gains at one (as GPT-2 and nanoGPT initialise them).
        Assert.Equal(0, model.state_dict()["model.layers.0.mlp.c_fc.bias"].abs().sum().item<float>());
        Assert.True(model.state_dict()["model.norm.weight"].eq(1).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Incremental_decoding_with_a_kv_cache_matches_the_full_forward(bool sparse)
    {
        using var scope = torch.NewDisposeScope();
        using var model = new GptModel(Tiny with { Attention = sparse ? AttentionKind.SparseFixed : AttentionKind.Dense, SparseBlock = 4 }, seed: 5);
        model.eval();
        using var noGrad = torch.no_grad();
        var tokens = torch.randint(0, 97, [2, 20], generator: new Generator(7));
        var full = model.Forward(tokens);

        using var cache = model.NewCache(batch: 2);
        var pieces = new List<Tensor> { model.Forward(tokens.narrow(1, 0, 7), cache), model.Forward(tokens.narrow(1, 7, 5), cache) };
        for (int t = 12; t < 20; t++) pieces.Add(model.Forward(tokens.narrow(1, t, 1), cache));
        var maxDiff = (full - torch.cat(pieces, dim: 1)).abs().max().item<float>();
        Assert.True(maxDiff < 1e-5, $"max difference {maxDiff}");
    }

    [Fact]
    public void Positions_are_learned_so_the_same_token_later_gives_different_logits()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new GptModel(Tiny, seed: 2);
        using var noGrad = torch.no_grad();
        var first = model.Forward(torch.tensor(new long[] { 5 }).unsqueeze(0));
        using var cache = model.NewCache();
        model.Forward(torch.tensor(new long[] { 5, 5, 5 }).unsqueeze(0), cache);
        cache.Truncate(0);
        Assert.True(torch.allclose(first, model.Forward(torch.tensor(new long[] { 5 }).unsqueeze(0), cache), rtol: 1e-6, atol: 1e-6)); // position 0 again
        // Position 1 attends to two identical tokens: without positions it would repeat position 0's output.
        var later = model.Forward(torch.tensor(new long[] { 5 }).unsqueeze(0), cache);
        Assert.False(torch.allclose(first, later));
        Assert.Contains("context", Assert.Throws<UserError>(() => model.Forward(torch.zeros(1, 33, dtype: ScalarType.Int64))).Message);
    }

    [Theory]
    [InlineData("recurrent")]
    [InlineData("untied")]
    [InlineData("grouped")]
    public void Combinations_gpt2_cannot_have_are_one_clear_error(string what)
    {
        var config = what switch
        {
            "recurrent" => Tiny with { Attention = AttentionKind.Recurrent, MemoryLength = 8 },
            "untied" => Tiny with { TiedEmbeddings = false },
            _ => Tiny with { KvHeads = 2 },
        };
        var e = Assert.Throws<UserError>(() => config.Validate());
        Assert.Contains("GPT-2", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Hugging_face_config_round_trips_as_gpt2()
    {
        var json = Tiny.ToHuggingFace();
        Assert.Equal("GPT2LMHeadModel", json["architectures"]![0]!.GetValue<string>());
        Assert.Equal(32, json["n_embd"]!.GetValue<int>());
        Assert.Null(json["hidden_size"]);
        Assert.Equal(Tiny with { FfnHidden = 128 }, GptConfig.FromHuggingFace(json)); // the width is written out
        var sparse = Tiny with { FfnHidden = 96, Attention = AttentionKind.SparseStrided, SparseBlock = 4, NormEps = 1e-6 };
        Assert.Equal(sparse, GptConfig.FromHuggingFace(sparse.ToHuggingFace()));
    }

    [Fact]
    public void The_cpu_decoder_leaves_gpt2_to_the_module_path()
    {
        using var model = new GptModel(Tiny);
        Assert.False(CpuDecoder.Supports(model, out var reason));
        Assert.Contains("module path", reason);
    }
}
