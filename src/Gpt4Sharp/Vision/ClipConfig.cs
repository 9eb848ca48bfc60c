namespace Gpt4Sharp.Vision;

/// <summary>Vision Transformer shape (Dosovitskiy et al. 2021): square images cut into square patches.</summary>
public sealed record VisionConfig
{
    public int ImageSize { get; init; } = 48;
    public int PatchSize { get; init; } = 8;
    public int Width { get; init; } = 64;
    public int Layers { get; init; } = 3;
    public int Heads { get; init; } = 4;
    /// <summary>"cls" (class token, as ViT and CLIP) or "mean" (average of patch tokens).</summary>
    public string Pooling { get; init; } = "cls";

    public int PatchesPerSide => ImageSize / PatchSize;
    public int Patches => PatchesPerSide * PatchesPerSide;

    public VisionConfig Validate()
    {
        Require(ImageSize >= 4 && PatchSize >= 1 && ImageSize % PatchSize == 0, $"image size {ImageSize} must be a positive multiple of the patch size {PatchSize}");
        Require(Width >= 1 && Layers >= 1 && Heads >= 1 && Width % Heads == 0, $"width {Width} must be positive and divisible by the heads {Heads}, with at least one layer");
        Require(Pooling is "cls" or "mean", $"pooling must be cls or mean (got {Pooling})");
        return this;
    }

    internal static void Require(bool ok, string what)
    {
        if (!ok) throw new UserError($"Invalid vision config: {what}.");
    }
}

/// <summary>CLIP's text tower: a small causal Transformer over tokenizer ids, pooled at the end-of-text token.</summary>
public sealed record TextEncoderConfig
{
    public int VocabSize { get; init; } = 512;
    public int ContextLength { get; init; } = 48;
    public int Width { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;

    public TextEncoderConfig Validate()
    {
        VisionConfig.Require(VocabSize >= 2 && ContextLength >= 2, $"text vocabulary {VocabSize} and context {ContextLength} must be at least 2");
        VisionConfig.Require(Width >= 1 && Layers >= 1 && Heads >= 1 && Width % Heads == 0, $"text width {Width} must be positive and divisible by the heads {Heads}");
        return this;
    }
}

/// <summary>A CLIP model: both towers, the shared embedding size and the contrastive loss.</summary>
public sealed record ClipConfig
{
    public VisionConfig Vision { get; init; } = new();
    public TextEncoderConfig Text { get; init; } = new();
    public int EmbedDim { get; init; } = 64;
    /// <summary>"infonce" (CLIP's symmetric softmax loss) or "sigmoid" (SigLIP, Zhai et al. 2023: better at small batches).</summary>
    public string Loss { get; init; } = "infonce";
    /// <summary>Tokenizer: a tiktoken name, or a directory relative to the run directory.</summary>
    public string Tokenizer { get; init; } = "tokenizer";

    public ClipConfig Validate()
    {
        Vision.Validate();
        Text.Validate();
        VisionConfig.Require(EmbedDim >= 1, $"embedding size must be positive (got {EmbedDim})");
        VisionConfig.Require(Loss is "infonce" or "sigmoid", $"loss must be infonce or sigmoid (got {Loss})");
        return this;
    }
}
