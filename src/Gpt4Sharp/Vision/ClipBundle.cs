using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>A trained CLIP model with its tokenizer and image preparation, as the zero-shot and multimodal commands load it.</summary>
public sealed class ClipBundle(ClipModel model, ITokenizer tokenizer, string directory) : IDisposable
{
    public ClipModel Model { get; } = model;
    public ITokenizer Tokenizer { get; } = tokenizer;
    public string Directory { get; } = directory;
    public ImageOptions ImageOptions { get; } = new ImageOptions { Size = model.Config.Vision.ImageSize }.Validate();

    /// <summary>Loads a run directory from <c>clip train</c> (its newest valid checkpoint) or one checkpoint directory.</summary>
    public static ClipBundle Load(string path, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        var dir = CheckpointDirectory(path, "a run directory from `gpt4sharp clip train`");
        var config = CheckpointStore.ReadConfig<ClipConfig>(dir);
        var tokenizer = LoadTokenizer(dir, config.Tokenizer);
        if (tokenizer.VocabSize > config.Text.VocabSize)
            throw new UserError($"The tokenizer has {tokenizer.VocabSize} tokens but the CLIP text encoder at {dir} only {config.Text.VocabSize}; they do not belong together.");
        var model = new ClipModel(config);
        CheckpointStore.Load(dir, model);
        if (device is not null) model.to(device);
        model.eval();
        return new ClipBundle(model, tokenizer, dir);
    }

    /// <summary>A step directory as given, or a run directory's newest valid checkpoint.</summary>
    internal static string CheckpointDirectory(string path, string what)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(Path.Combine(full, CheckpointManifest.FileName))) return full;
        if (!System.IO.Directory.Exists(full)) throw new UserError($"{path} does not exist; give {what}.");
        return new CheckpointStore(full).FindLatestValid() ?? throw new UserError($"{path} holds no checkpoint; give {what}.");
    }

    /// <summary>A tiktoken name, or a tokenizer directory beside the checkpoint or in its run directory.</summary>
    internal static ITokenizer LoadTokenizer(string checkpointDir, string reference)
    {
        if (Tokenizers.TiktokenEncodings.Contains(reference)) return Tokenizers.Load(reference);
        var runDir = Path.GetDirectoryName(Path.GetDirectoryName(checkpointDir)) ?? checkpointDir;
        foreach (var candidate in new[] { Path.Combine(checkpointDir, reference), Path.Combine(runDir, reference) })
            if (File.Exists(Path.Combine(candidate, BpeModel.VocabFile))) return Tokenizers.Load(candidate);
        throw new UserError($"No tokenizer '{reference}' found beside {checkpointDir} or in its run directory; copy the tokenizer the model was trained with there.");
    }

    public void Dispose() => Model.Dispose();
}
