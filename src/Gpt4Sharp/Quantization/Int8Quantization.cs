using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Gpt4Sharp.Quantization;

/// <summary>What <see cref="Int8Quantization.Save"/> wrote.</summary>
public sealed record QuantizeResult(string Directory, int Matrices, long Int8Parameters, long OtherParameters, long Fp32Bytes, long Int8Bytes, double WorstRelativeError);

/// <summary>
/// Weight-only int8 quantisation: every weight matrix W [out, in] becomes int8 values
/// q = round(W / s) in [-127, 127] with one fp32 scale per output channel, s = max|W_row| / 127
/// (symmetric, as in LLM.int8's vector-wise scheme without its outlier split). Norm gains stay
/// fp32. A quantised checkpoint stores q as <c>NAME</c> (I8) and s as <c>NAME_scale</c> (F32) in
/// model.safetensors, about a quarter of the fp32 size, and config.json marks it under
/// <see cref="ConfigKey"/>. TorchSharp exposes no int8 GEMM (no quantized::linear, no
/// _weight_int8pack_mm), so at load the weights are dequantised back to fp32 for compute:
/// int8 here saves disk and download, not time. (llama.cpp's Q8_0 is the int8 compute path: see
/// the GGUF export.)
/// </summary>
public static class Int8Quantization
{
    public const string ConfigKey = "quantization_config";
    public const string Method = "gpt4sharp_int8_weight_only";
    const string ScaleSuffix = "_scale";

    /// <summary>True when a checkpoint's config.json marks int8 weights.</summary>
    public static bool IsQuantized(JsonNode config) => config[ConfigKey]?["quant_method"]?.GetValue<string>() == Method;

    /// <summary>Per-output-channel symmetric int8 of a [out, in] matrix: (int8 values, fp32 scales [out]).</summary>
    public static (Tensor Values, Tensor Scales) Quantize(Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float32);
        var scales = (w.abs().amax([1L]) / 127.0).clamp_min(1e-12);
        var values = (w / scales.unsqueeze(1)).round().clamp(-127, 127).to(ScalarType.Int8);
        return (values.MoveToOuterDisposeScope(), scales.MoveToOuterDisposeScope());
    }

    public static Tensor Dequantize(Tensor values, Tensor scales) => values.to(ScalarType.Float32) * scales.unsqueeze(1);

    /// <summary>Replaces every weight matrix by its int8 round trip, in place (what a quantised checkpoint loads as).</summary>
    public static void ApplyInPlace(GptModel model)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, p) in Matrices(model))
        {
            using var scope = torch.NewDisposeScope();
            var (values, scales) = Quantize(p);
            p.copy_(Dequantize(values, scales));
        }
    }

    /// <summary>Weight matrices by state_dict name (a tied embedding once).</summary>
    static IEnumerable<(string Name, Tensor Weight)> Matrices(GptModel model) =>
        model.state_dict().Where(kv => kv.Value.dim() == 2).Select(kv => (kv.Key, kv.Value));

    /// <summary>
    /// Writes <paramref name="model"/> as a quantised checkpoint directory that
    /// <see cref="ModelBundle.Load"/> opens: model.safetensors (int8 + scales), config.json,
    /// tokenizer/ and manifest.json.
    /// </summary>
    public static QuantizeResult Save(GptModel model, ITokenizer tokenizer, string directory)
    {
        if (File.Exists(Path.Combine(directory, CheckpointManifest.FileName)) || File.Exists(Path.Combine(directory, CheckpointStore.ModelFile)))
            throw new UserError($"{directory} already holds a checkpoint; choose a new output directory.");
        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, Tensor>();
        int matrices = 0;
        long int8Params = 0, otherParams = 0, fp32Bytes = 0;
        double worst = 0;
        try
        {
            foreach (var (name, tensor) in model.state_dict())
            {
                fp32Bytes += tensor.numel() * 4;
                if (tensor.dim() != 2)
                {
                    tensors[name] = tensor.detach().to(ScalarType.Float32).contiguous();
                    otherParams += tensor.numel();
                    continue;
                }
                var (values, scales) = Quantize(tensor);
                using (var error = (Dequantize(values, scales) - tensor).abs().amax() / tensor.abs().amax().clamp_min(1e-12))
                    worst = Math.Max(worst, error.item<float>());
                tensors[name] = values;
                tensors[name + ScaleSuffix] = scales;
                matrices++;
                int8Params += tensor.numel();
            }
            var modelPath = Path.Combine(directory, CheckpointStore.ModelFile);
            AtomicFile.Write(modelPath, s => Safetensors.SaveStateDict(s, tensors, leaveOpen: true));

            var config = ModelBundle.ConfigJson(model.Config, tokenizer);
            config[ConfigKey] = new JsonObject { ["quant_method"] = Method, ["bits"] = 8, ["granularity"] = "per_output_channel", ["symmetric"] = true };
            AtomicFile.WriteAllText(Path.Combine(directory, CheckpointStore.ConfigFile), config.ToJsonString(new() { WriteIndented = true }));
            ModelBundle.CopyTokenizer(tokenizer, directory);
            CheckpointManifest.Describe(directory, 0, [CheckpointStore.ModelFile, CheckpointStore.ConfigFile]).Write(directory);
            return new QuantizeResult(directory, matrices, int8Params, otherParams, fp32Bytes, new FileInfo(modelPath).Length, worst);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Loads a quantised model.safetensors into <paramref name="model"/>, dequantising each matrix.</summary>
    public static void Load(string checkpointDirectory, GptModel model)
    {
        var path = Path.Combine(checkpointDirectory, CheckpointStore.ModelFile);
        SafetensorsIndex.Read(path); // a corrupt header is a clear error
        var saved = Safetensors.LoadStateDict(path);
        try
        {
            using var noGrad = torch.no_grad();
            var expected = model.state_dict();
            var missing = expected.Keys.Where(k => !saved.ContainsKey(k) || (expected[k].dim() == 2 && !saved.ContainsKey(k + ScaleSuffix))).ToList();
            if (missing.Count > 0)
                throw new UserError($"The int8 checkpoint {checkpointDirectory} lacks {string.Join(", ", missing.Take(3))}; quantise the model again with 'gpt4sharp quantize'.");
            foreach (var (name, target) in expected)
            {
                using var scope = torch.NewDisposeScope();
                var value = target.dim() == 2 ? Dequantize(saved[name], saved[name + ScaleSuffix]) : saved[name].to(ScalarType.Float32);
                if (!value.shape.SequenceEqual(target.shape))
                    throw new UserError($"The int8 checkpoint {checkpointDirectory} stores {name} as [{string.Join(", ", value.shape)}] but its config.json needs [{string.Join(", ", target.shape)}]; quantise the model again.");
                target.copy_(value);
            }
        }
        finally
        {
            foreach (var t in saved.Values) t.Dispose();
        }
    }
}
