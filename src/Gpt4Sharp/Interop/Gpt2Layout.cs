using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Interop;

/// <summary>
/// Hugging Face's <c>GPT2LMHeadModel</c> tensor layout for a GPT-2 <see cref="Model.GptModel"/>.
/// Hugging Face keeps GPT-2's linear layers as Conv1D weights [in, out] (the transpose of a
/// Linear's) and fuses query, key and value into one <c>c_attn</c>; our model has Llama-style
/// names and separate projections. Both directions only rename, transpose, split and
/// concatenate, so a round trip is bit-exact.
/// </summary>
public static class Gpt2Layout
{
    const string Prefix = "transformer.";

    /// <summary>Our state_dict as Hugging Face GPT-2 tensors ("transformer.h.N.attn.c_attn.weight", ...), without the tied lm_head.</summary>
    public static Dictionary<string, Tensor> ToHuggingFace(IReadOnlyDictionary<string, Tensor> ours, int layers)
    {
        var hf = new Dictionary<string, Tensor>();
        foreach (var (name, hfName, conv1D) in Renamed(layers))
            hf[Prefix + hfName] = conv1D ? ours[name].t() : ours[name];
        foreach (var (q, k, v, fused) in Fused(layers))
        {
            var qkv = torch.cat([ours[q], ours[k], ours[v]], dim: 0);
            hf[Prefix + fused] = fused.EndsWith(".weight", StringComparison.Ordinal) ? qkv.t() : qkv;
        }
        return hf;
    }

    /// <summary>
    /// Hugging Face GPT-2 tensors (names with or without "transformer.") under our names. The
    /// causal-mask buffers (attn.bias, attn.masked_bias) and a tied lm_head copy are skipped;
    /// any other missing or extra tensor is one <see cref="UserError"/> naming <paramref name="source"/>.
    /// </summary>
    public static Dictionary<string, Tensor> FromHuggingFace(IReadOnlyDictionary<string, Tensor> hf, int layers, string source)
    {
        var byName = hf.Where(kv => !IsSkipped(kv.Key))
            .ToDictionary(kv => kv.Key.StartsWith(Prefix, StringComparison.Ordinal) ? kv.Key[Prefix.Length..] : kv.Key, kv => kv.Value);
        var expected = Renamed(layers).Select(r => r.HfName).Concat(Fused(layers).Select(f => f.HfName)).ToHashSet();
        var problems = expected.Where(n => !byName.ContainsKey(n)).Select(n => $"missing {n}")
            .Concat(byName.Keys.Where(n => !expected.Contains(n)).Select(n => $"unexpected {n}")).ToList();
        if (problems.Count > 0)
            throw new UserError($"The weights in {source} are not a GPT-2 checkpoint matching its config.json ({string.Join("; ", problems.Take(3))}); download it again.");

        var ours = new Dictionary<string, Tensor>();
        foreach (var (name, hfName, conv1D) in Renamed(layers))
            ours[name] = conv1D ? byName[hfName].t() : byName[hfName];
        foreach (var (q, k, v, fused) in Fused(layers))
        {
            var qkv = fused.EndsWith(".weight", StringComparison.Ordinal) ? byName[fused].t() : byName[fused];
            if (qkv.shape[0] % 3 != 0)
                throw new UserError($"{fused} in {source} is [{string.Join(", ", byName[fused].shape)}], not three equal query, key and value parts; download the checkpoint again.");
            var parts = qkv.chunk(3, dim: 0);
            (ours[q], ours[k], ours[v]) = (parts[0], parts[1], parts[2]);
        }
        return ours;
    }

    static bool IsSkipped(string name) =>
        name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal) || name == "lm_head.weight";

    /// <summary>Tensors that map one to one: our name, Hugging Face's (without "transformer."), and whether it is a transposed Conv1D weight.</summary>
    static IEnumerable<(string Name, string HfName, bool Conv1D)> Renamed(int layers)
    {
        yield return ("model.embed_tokens.weight", "wte.weight", false);
        yield return ("model.embed_positions.weight", "wpe.weight", false);
        yield return ("model.norm.weight", "ln_f.weight", false);
        yield return ("model.norm.bias", "ln_f.bias", false);
        for (int i = 0; i < layers; i++)
        {
            string ours = $"model.layers.{i}.", hf = $"h.{i}.";
            foreach (var part in new[] { "weight", "bias" })
            {
                bool conv1D = part == "weight";
                yield return (ours + "input_layernorm." + part, hf + "ln_1." + part, false);
                yield return (ours + "post_attention_layernorm." + part, hf + "ln_2." + part, false);
                yield return (ours + "self_attn.o_proj." + part, hf + "attn.c_proj." + part, conv1D);
                yield return (ours + "mlp.c_fc." + part, hf + "mlp.c_fc." + part, conv1D);
                yield return (ours + "mlp.c_proj." + part, hf + "mlp.c_proj." + part, conv1D);
            }
        }
    }

    /// <summary>Our separate query, key and value tensors and the fused c_attn tensor they form (concatenated in that order).</summary>
    static IEnumerable<(string Q, string K, string V, string HfName)> Fused(int layers)
    {
        for (int i = 0; i < layers; i++)
            foreach (var part in new[] { "weight", "bias" })
            {
                string attn = $"model.layers.{i}.self_attn.";
                yield return (attn + "q_proj." + part, attn + "k_proj." + part, attn + "v_proj." + part, $"h.{i}.attn.c_attn.{part}");
            }
    }
}
