using System.Text.Json.Nodes;
using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Interop;

/// <summary>
/// What of a Gpt4Sharp model other engines can run: the Llama or GPT-2 decoder (embeddings,
/// layers, final norm, output head). Config keys outside Llama's and GPT-2's with a non-neutral
/// value (a sparse or recurrent attention kind, say) change what the layers compute, so a model
/// using them is refused; extra weights outside the decoder (an image encoder or projector) are
/// left out and named, because the text model works without them.
/// </summary>
public static class DenseCore
{
    /// <summary>Keys of a Hugging Face Llama or GPT-2 config.json (as <see cref="GptConfig.ToHuggingFace"/> writes them) and our tokenizer key.</summary>
    static readonly HashSet<string> StandardKeys =
    [
        "architectures", "model_type", "vocab_size", "max_position_embeddings", "hidden_size", "intermediate_size",
        "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps",
        "rope_theta", "tie_word_embeddings", "attention_bias", "mlp_bias", "torch_dtype",
        "n_positions", "n_ctx", "n_embd", "n_inner", "n_layer", "n_head", "activation_function", "layer_norm_epsilon",
        Checkpoints.ModelBundle.TokenizerKey, "bos_token_id", "eos_token_id",
    ];

    /// <summary>Throws a <see cref="UserError"/> when the config uses a feature Llama engines cannot run.</summary>
    public static void RequireDense(GptConfig config, string target)
    {
        foreach (var (key, value) in config.ToHuggingFace())
        {
            if (StandardKeys.Contains(key) || IsNeutral(value)) continue;
            throw new UserError($"The model uses {key} = {value?.ToJsonString()}, which {target} cannot run (it only has dense attention); export a model trained with dense attention.");
        }
    }

    static bool IsNeutral(JsonNode? value) => value is null || value.ToJsonString() is "false" or "0" or "\"dense\"" or "\"none\"" or "null";

    /// <summary>The decoder's tensors by Hugging Face name, and the names of any other tensors (left out of an export).</summary>
    public static (Dictionary<string, Tensor> Tensors, List<string> LeftOut) Split(GptModel model)
    {
        var tensors = new Dictionary<string, Tensor>();
        var leftOut = new List<string>();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (IsDecoderTensor(name)) tensors[name] = tensor;
            else leftOut.Add($"{name} left out (not part of the decoder)");
        }
        return (tensors, leftOut);
    }

    static bool IsDecoderTensor(string name) =>
        name is "model.embed_tokens.weight" or "model.embed_positions.weight" or "model.norm.weight" or "model.norm.bias" or "lm_head.weight"
        || (name.StartsWith("model.layers.", StringComparison.Ordinal) &&
            (name.Contains(".self_attn.", StringComparison.Ordinal) || name.Contains(".mlp.", StringComparison.Ordinal) || name.Contains("layernorm", StringComparison.Ordinal)));
}
