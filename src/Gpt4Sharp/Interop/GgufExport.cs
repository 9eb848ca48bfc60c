using System.Runtime.InteropServices;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Interop;

/// <summary>
/// Writes a model as a llama.cpp GGUF file (architecture <c>llama</c>, tokenizer <c>gpt2</c>)
/// that llama.cpp, LLamaSharp and ollama load. Matrices are stored as F32, F16 or Q8_0; norm
/// weights stay F32, as llama.cpp's own converter keeps them.
/// </summary>
public static class GgufExport
{
    /// <summary>
    /// llama.cpp's pre-tokenizer whose split regex is cl100k's, the one our tokenizers use
    /// (llama.cpp names it after Llama 3, which adopted GPT-4's regex).
    /// </summary>
    public const string PreTokenizer = "llama-bpe";

    /// <summary>llama.cpp's token types (llama_token_type).</summary>
    const int Normal = 1, Control = 3, Unused = 5;

    public static ExportResult Export(GptModel model, ITokenizer tokenizer, string path, GgmlType type)
    {
        var config = model.Config;
        if (config.Architecture != ModelArchitecture.Llama)
            throw new UserError("GGUF export writes llama.cpp's llama architecture only, and this is a GPT-2 model; export it with 'gpt4sharp export hf' instead.");
        DenseCore.RequireDense(config, "llama.cpp");
        var files = TokenizerFiles.From(tokenizer);
        if (files.Tokens.Count > config.VocabSize)
            throw new UserError($"The tokenizer has {files.Tokens.Count} tokens but the model only {config.VocabSize}; export the tokenizer the model was trained with.");

        var gguf = new GgufWriter();
        gguf.Add("general.architecture", "llama");
        gguf.Add("general.name", Path.GetFileNameWithoutExtension(path));
        gguf.Add("general.file_type", type switch { GgmlType.F32 => 0u, GgmlType.F16 => 1u, _ => 7u });
        gguf.Add("llama.vocab_size", (uint)config.VocabSize);
        gguf.Add("llama.context_length", (uint)config.ContextLength);
        gguf.Add("llama.embedding_length", (uint)config.DModel);
        gguf.Add("llama.block_count", (uint)config.Layers);
        gguf.Add("llama.feed_forward_length", (uint)config.FfnWidth);
        gguf.Add("llama.attention.head_count", (uint)config.Heads);
        gguf.Add("llama.attention.head_count_kv", (uint)config.KvHeads);
        gguf.Add("llama.attention.layer_norm_rms_epsilon", (float)config.NormEps);
        gguf.Add("llama.rope.dimension_count", (uint)config.HeadDim);
        gguf.Add("llama.rope.freq_base", (float)config.RopeTheta);
        AddTokenizer(gguf, files, config.VocabSize);

        var (tensors, leftOut) = DenseCore.Split(model);
        var fallbacks = new List<string>();
        foreach (var (hfName, tensor) in tensors)
        {
            var (name, weight) = LlamaCppName(hfName, tensor, config);
            using (weight)
            {
                var storeAs = weight.dim() == 1 ? GgmlType.F32 : type;
                if (storeAs == GgmlType.Q8_0 && weight.shape[^1] % Q8Block != 0)
                {
                    storeAs = GgmlType.F16; // Q8_0 needs rows in whole blocks of 32, as in llama.cpp's converter
                    fallbacks.Add(name);
                }
                var dims = weight.shape.Reverse().Select(d => (ulong)d).ToArray();
                gguf.AddTensor(name, dims, storeAs, Encode(weight, storeAs));
            }
        }
        AtomicFile.Write(path, gguf.Write);
        var notes = leftOut.Concat(fallbacks.Select(f => $"{f} stored as F16 (rows are not a multiple of 32)")).ToList();
        return new ExportResult(path, [Path.GetFileName(path)], notes, tensors.Values.Sum(t => t.numel()));
    }

    static void AddTokenizer(GgufWriter gguf, TokenizerFiles files, int vocabSize)
    {
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            var token = id < files.Tokens.Count ? files.Tokens[id] : null;
            tokens[id] = token ?? $"[PAD{id}]";
            types[id] = token is null ? Unused : files.Specials.ContainsKey(token) ? Control : Normal;
        }
        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", PreTokenizer);
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.merges", files.Merges);
        if (files.SpecialId(SpecialTokens.EndOfText) is int bos) gguf.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (files.SpecialId(SpecialTokens.EndOfTurn) is int eos)
        {
            gguf.Add("tokenizer.ggml.eos_token_id", (uint)eos);
            gguf.Add("tokenizer.ggml.eot_token_id", (uint)eos);
        }
        if (files.SpecialId(SpecialTokens.Pad) is int pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", false);
        gguf.Add("tokenizer.chat_template", TokenizerFiles.JinjaChatTemplate);
    }

    /// <summary>llama.cpp's tensor name, and the weight as llama.cpp wants it (fp32, contiguous, Q/K rows permuted).</summary>
    static (string Name, Tensor Weight) LlamaCppName(string hfName, Tensor tensor, GptConfig config)
    {
        var w = tensor.detach().to(ScalarType.Float32);
        if (hfName == "model.embed_tokens.weight") return ("token_embd.weight", w.contiguous());
        if (hfName == "model.norm.weight") return ("output_norm.weight", w.contiguous());
        if (hfName == "lm_head.weight") return ("output.weight", w.contiguous());
        var parts = hfName.Split('.'); // model.layers.N.<module>[.<proj>].weight
        var layer = parts[2];
        var module = string.Join('.', parts[3..^1]);
        var (suffix, permuteHeads) = module switch
        {
            "input_layernorm" => ("attn_norm", 0),
            "post_attention_layernorm" => ("ffn_norm", 0),
            "self_attn.q_proj" => ("attn_q", config.Heads),
            "self_attn.k_proj" => ("attn_k", config.KvHeads),
            "self_attn.v_proj" => ("attn_v", 0),
            "self_attn.o_proj" => ("attn_output", 0),
            "mlp.gate_proj" => ("ffn_gate", 0),
            "mlp.up_proj" => ("ffn_up", 0),
            "mlp.down_proj" => ("ffn_down", 0),
            _ => throw new InvalidOperationException($"{hfName} has no llama.cpp name."),
        };
        return ($"blk.{layer}.{suffix}.weight", permuteHeads > 0 ? HalfSplitToInterleaved(w, permuteHeads) : w.contiguous());
    }

    /// <summary>
    /// Reorders each head's output rows from the half-split RoPE layout (pairs i, i+d/2) to the
    /// adjacent-pair layout llama.cpp rotates (pairs 2i, 2i+1); q·k products are unchanged.
    /// </summary>
    public static Tensor HalfSplitToInterleaved(Tensor weight, int heads)
    {
        long rows = weight.shape[0], cols = weight.shape[1];
        return weight.reshape(heads, 2, rows / heads / 2, cols).transpose(1, 2).reshape(rows, cols).contiguous();
    }

    const int Q8Block = 32;

    static byte[] Encode(Tensor weight, GgmlType type)
    {
        var values = weight.data<float>().ToArray();
        return type switch
        {
            GgmlType.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            GgmlType.F16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
            _ => QuantizeQ8_0(values),
        };
    }

    /// <summary>Q8_0: blocks of 32 values, each an fp16 scale d = max|x|/127 followed by 32 int8 round(x/d).</summary>
    public static byte[] QuantizeQ8_0(ReadOnlySpan<float> values)
    {
        int blocks = values.Length / Q8Block;
        var bytes = new byte[blocks * (2 + Q8Block)];
        for (int b = 0; b < blocks; b++)
        {
            var block = values.Slice(b * Q8Block, Q8Block);
            float amax = 0;
            foreach (var v in block) amax = Math.Max(amax, Math.Abs(v));
            float d = amax / 127f, inverse = d > 0 ? 1f / d : 0f;
            int at = b * (2 + Q8Block);
            BitConverter.TryWriteBytes(bytes.AsSpan(at, 2), (Half)d);
            for (int i = 0; i < Q8Block; i++) bytes[at + 2 + i] = (byte)(sbyte)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero);
        }
        return bytes;
    }
}
