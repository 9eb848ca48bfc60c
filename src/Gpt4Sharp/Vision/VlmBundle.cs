using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>
/// A trained vision-language model as <c>vlm ask</c>, <c>vlm eval</c> and <c>chat --image</c>
/// load it: <see cref="Decoder"/> is an ordinary <c>GptModel</c> (text-only turns run through it
/// unchanged) and <see cref="Images"/> turns ids with image spans into its input embeddings.
/// </summary>
public sealed class VlmBundle(VisionLanguageModel model, ITokenizer tokenizer, string directory) : IDisposable
{
    public VisionLanguageModel Model { get; } = model;
    public Model.GptModel Decoder => Model.Decoder;
    public ITokenizer Tokenizer { get; } = tokenizer;
    public ImageSpanEncoder Images { get; } = new(model, tokenizer);
    public string Directory { get; } = directory;

    /// <summary>Loads a run directory from <c>vlm train</c> (its newest valid checkpoint) or one checkpoint directory.</summary>
    public static VlmBundle Load(string path, Device? device = null)
    {
        TorchRuntime.EnsureLoaded();
        var dir = ClipBundle.CheckpointDirectory(path, "a run directory from `gpt4sharp vlm train`");
        var config = CheckpointStore.ReadConfig<VlmConfig>(dir);
        var tokenizer = ClipBundle.LoadTokenizer(dir, config.Tokenizer);
        if (tokenizer.VocabSize > config.Decoder.VocabSize)
            throw new UserError($"The tokenizer has {tokenizer.VocabSize} tokens but the decoder at {dir} only {config.Decoder.VocabSize}; they do not belong together.");
        var model = new VisionLanguageModel(config);
        CheckpointStore.Load(dir, model);
        if (device is not null) model.to(device);
        model.eval();
        return new VlmBundle(model, tokenizer, dir);
    }

    /// <summary>True when <paramref name="path"/> is a vision-language run or checkpoint (its config has a vision part and a decoder).</summary>
    public static bool IsVlm(string path)
    {
        try
        {
            var node = CheckpointStore.ReadConfigNode(ClipBundle.CheckpointDirectory(path, "a run directory"));
            return node["vision"] is not null && node["decoder"] is not null;
        }
        catch (UserError) { return false; }
    }

    public void Dispose() => Model.Dispose();
}
