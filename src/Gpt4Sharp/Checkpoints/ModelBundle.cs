using System.Text.Json.Nodes;
using Gpt4Sharp.Inference;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Checkpoints;

/// <summary>
/// A trained model with its tokenizer, as the sampling, evaluation, chat and serving commands
/// load it. A run directory keeps its tokenizer in <c>RUN/tokenizer/</c>; the config.json of
/// each checkpoint names it under <see cref="TokenizerKey"/> (a tiktoken encoding name, or a
/// path relative to the run directory).
/// </summary>
public sealed class ModelBundle(GptModel model, ITokenizer tokenizer, string directory, DecodeWeights decodeWeights = DecodeWeights.Fp32) : IDisposable
{
    /// <summary>The config.json key that names the tokenizer.</summary>
    public const string TokenizerKey = "gpt4sharp_tokenizer";
    public const string TokenizerDirectory = "tokenizer";

    public GptModel Model { get; } = model;
    public ITokenizer Tokenizer { get; } = tokenizer;
    /// <summary>The checkpoint directory the weights came from.</summary>
    public string Directory { get; } = directory;
    /// <summary>Int8 for a quantised checkpoint: batch-1 decoding then multiplies its int8 weights directly.</summary>
    public DecodeWeights DecodeWeights { get; } = decodeWeights;

    /// <summary>Hugging Face config.json for <paramref name="model"/>, naming its tokenizer.</summary>
    public static JsonObject ConfigJson(GptConfig config, ITokenizer tokenizer)
    {
        var json = config.ToHuggingFace();
        json[TokenizerKey] = Tokenizers.TiktokenEncodings.Contains(tokenizer.Name) ? tokenizer.Name : TokenizerDirectory;
        return json;
    }

    /// <summary>Copies a directory tokenizer into RUN/tokenizer so the run directory is self-contained (tiktoken encodings are referenced by name).</summary>
    public static void CopyTokenizer(ITokenizer tokenizer, string runDirectory)
    {
        if (Tokenizers.TiktokenEncodings.Contains(tokenizer.Name)) return;
        var target = Path.Combine(runDirectory, TokenizerDirectory);
        if (Path.GetFullPath(tokenizer.Name) == Path.GetFullPath(target)) return;
        System.IO.Directory.CreateDirectory(target);
        foreach (var file in new[] { BpeModel.VocabFile, BpeModel.MergesFile, BpeModel.SpecialTokensFile })
        {
            var source = Path.Combine(tokenizer.Name, file);
            if (File.Exists(source)) File.Copy(source, Path.Combine(target, file), overwrite: true);
        }
    }

    /// <summary>Loads the newest valid checkpoint of a run directory, or one checkpoint directory, onto <paramref name="device"/>.</summary>
    public static ModelBundle Load(string path, Device? device = null, Action<string>? warn = null)
    {
        TorchRuntime.EnsureLoaded();
        var full = Path.GetFullPath(path);
        string dir = File.Exists(Path.Combine(full, CheckpointManifest.FileName))
            ? full
            : new CheckpointStore(full).FindLatestValid(warn)
              ?? throw new UserError($"{path} holds no Gpt4Sharp checkpoint; give a run directory from `gpt4sharp pretrain` or one of its checkpoints/step-NNNNNN directories.");
        var json = CheckpointStore.ReadConfigNode(dir);
        var config = GptConfig.FromHuggingFace(json);
        var tokenizer = LoadTokenizer(dir, json[TokenizerKey]?.GetValue<string>());
        if (tokenizer.VocabSize > config.VocabSize)
            throw new UserError($"The tokenizer has {tokenizer.VocabSize} tokens but the model at {dir} only {config.VocabSize}; they do not belong together.");
        var model = new GptModel(config);
        bool int8 = Quantization.Int8Quantization.IsQuantized(json);
        if (int8)
        {
            CheckpointManifest.ReadVerified(dir);
            Quantization.Int8Quantization.Load(dir, model); // dequantised for the module path (prompts, training)
        }
        else CheckpointStore.Load(dir, model);
        if (device is not null) model.to(device);
        model.eval();
        return new ModelBundle(model, tokenizer, dir, int8 ? DecodeWeights.Int8 : DecodeWeights.Fp32);
    }

    static ITokenizer LoadTokenizer(string checkpointDir, string? reference)
    {
        if (reference is not null && Tokenizers.TiktokenEncodings.Contains(reference)) return Tokenizers.Load(reference);
        // A step directory sits at RUN/checkpoints/step-N: look beside it, then in the run directory.
        var runDir = Path.GetDirectoryName(Path.GetDirectoryName(checkpointDir)) ?? checkpointDir;
        foreach (var candidate in new[] { checkpointDir, Path.Combine(checkpointDir, TokenizerDirectory), Path.Combine(runDir, reference ?? TokenizerDirectory) })
            if (File.Exists(Path.Combine(candidate, BpeModel.VocabFile))) return Tokenizers.Load(candidate);
        throw new UserError($"No tokenizer found for the checkpoint {checkpointDir} (looked for {TokenizerDirectory}/vocab.json in the run directory); copy the tokenizer the model was trained with there.");
    }

    public void Dispose() => Model.Dispose();
}
