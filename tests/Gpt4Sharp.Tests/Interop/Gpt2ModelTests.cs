using System.Text.Json.Nodes;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Tests.Support;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Tests.Interop;

public class Gpt2ModelTests
{
    const int Vocab = 50, Positions = 16, D = 32, Layers = 2, Heads = 4;

    /// <summary>A GPT2LMHeadModel directory as the Hub ships one: Conv1D weights [in, out], no prefix, attention-mask buffers.</summary>
    static Dictionary<string, Tensor> WriteHubCheckpoint(string dir)
    {
        var g = new Generator(9);
        Tensor R(params long[] shape) => torch.randn(shape, generator: g) * 0.2;
        var t = new Dictionary<string, Tensor> { ["wte.weight"] = R(Vocab, D), ["wpe.weight"] = R(Positions, D), ["ln_f.weight"] = 1 + R(D), ["ln_f.bias"] = R(D) };
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
            ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["vocab_size"] = Vocab, ["n_positions"] = Positions,
            ["n_embd"] = D, ["n_layer"] = Layers, ["n_head"] = Heads, ["layer_norm_epsilon"] = 1e-5, ["activation_function"] = "gelu_new",
        }.ToJsonString());
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

    [Fact]
    public void LoadsHubLayoutAndMatchesAHandWrittenForwardThenRoundTrips()
    {
        var dir = RepoPaths.NewTempDir();
        var weights = WriteHubCheckpoint(dir);
        var ids = torch.tensor(new long[] { 3, 17, 42, 8, 8, 0, 49, 21, 5, 11 }).unsqueeze(0);
        using var noGrad = torch.no_grad();
        using var model = Gpt2Model.Load(dir);
        var logits = model.Forward(ids);
        Assert.True(torch.allclose(Reference(weights, ids), logits, rtol: 1e-4, atol: 1e-4));

        var saved = RepoPaths.NewTempDir();
        model.Save(saved);
        using var again = Gpt2Model.Load(saved);
        Assert.True(torch.equal(logits, again.Forward(ids)).all().item<bool>());
    }

    [Fact]
    public void RefusesMismatchedWeights()
    {
        var dir = RepoPaths.NewTempDir();
        WriteHubCheckpoint(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        config["n_layer"] = 3;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        Assert.Contains("missing h.2.", Assert.Throws<UserError>(() => Gpt2Model.Load(dir)).Message);
    }
}
