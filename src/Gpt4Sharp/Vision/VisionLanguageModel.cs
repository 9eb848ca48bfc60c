using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>
/// The multimodal decoder (KOSMOS-1 layout): text ids carry <c>&lt;|image_patch|&gt;</c>
/// placeholders between <c>&lt;image&gt;</c> and <c>&lt;/image&gt;</c>; their embeddings are
/// replaced by projected image features, in order, and the decoder reads the sequence as usual.
/// </summary>
public sealed class VisionLanguageModel : nn.Module
{
#pragma warning disable IDE1006
    readonly VisionTransformer vision;
    readonly ImageProjector projector;
    readonly GptModel decoder;
#pragma warning restore IDE1006

    public VlmConfig Config { get; }
    public VisionTransformer Vision => vision;
    public ImageProjector Projector => projector;
    public GptModel Decoder => decoder;
    public int TokensPerImage => Config.TokensPerImage;

    public VisionLanguageModel(VlmConfig config, long seed = 1) : base(nameof(VisionLanguageModel))
    {
        Config = config.Validate();
        manual_seed(seed);
        vision = new VisionTransformer(config.Vision);
        projector = new ImageProjector(config.Vision.Width, config.Decoder.DModel, config.Projector, config.ResamplerTokens, config.Decoder.Heads);
        decoder = new GptModel(config.Decoder, seed);
        RegisterComponents();
    }

    /// <summary>Patch features [N, patches, width] of pixels [N, 3, S, S] from the image encoder.</summary>
    public Tensor PatchFeatures(Tensor pixels) => vision.Forward(pixels).Patches;

    /// <summary>Input embeddings [B, T, d] for ids [B, T] whose placeholders are filled, in reading order, by projected features [M, k, width] of M images.</summary>
    public Tensor Embed(Tensor ids, Tensor? patchFeatures, int placeholderId)
    {
        using var scope = NewDisposeScope();
        var embeddings = decoder.Embed(ids);
        var positions = (ids.flatten() == placeholderId).nonzero().flatten();
        long expected = patchFeatures is null ? 0 : patchFeatures.shape[0] * TokensPerImage;
        if (positions.shape[0] != expected)
            throw new UserError($"The input has {positions.shape[0]} image placeholder tokens but {expected / Math.Max(1, TokensPerImage)} image(s) of {TokensPerImage} tokens each; build prompts with MultimodalChat.Encode.");
        if (patchFeatures is null) return embeddings.MoveToOuterDisposeScope();
        var features = projector.Forward(patchFeatures).reshape(-1, embeddings.shape[^1]).to(embeddings.dtype);
        var d = embeddings.shape[^1];
        var filled = embeddings.reshape(-1, d).index_copy(0, positions, features).view(embeddings.shape);
        return filled.MoveToOuterDisposeScope();
    }
}
