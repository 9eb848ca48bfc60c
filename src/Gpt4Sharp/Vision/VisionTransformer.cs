using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>
/// ViT image encoder: a strided convolution cuts the image into patches and embeds them, a
/// learned class token and learned positions are added, then pre-norm encoder blocks.
/// </summary>
public sealed class VisionTransformer : nn.Module
{
#pragma warning disable IDE1006 // state_dict names follow CLIP's layout
    readonly Conv2d patch_embed;
    readonly Parameter class_token, pos_embed;
    readonly LayerNorm ln_pre, ln_post;
    readonly ModuleList<EncoderBlock> blocks;
#pragma warning restore IDE1006

    public VisionConfig Config { get; }

    public VisionTransformer(VisionConfig config) : base(nameof(VisionTransformer))
    {
        Config = config.Validate();
        patch_embed = nn.Conv2d(3, config.Width, config.PatchSize, stride: config.PatchSize, bias: false);
        class_token = nn.Parameter(randn(1, 1, config.Width) * 0.02);
        pos_embed = nn.Parameter(randn(1, config.Patches + 1, config.Width) * 0.02);
        ln_pre = nn.LayerNorm(config.Width);
        blocks = new ModuleList<EncoderBlock>([.. Enumerable.Range(0, config.Layers).Select(_ => new EncoderBlock(config.Width, config.Heads))]);
        ln_post = nn.LayerNorm(config.Width);
        RegisterComponents();
    }

    /// <summary>Images [B, 3, S, S] → (pooled [B, width], patch features [B, patches, width]).</summary>
    public (Tensor Pooled, Tensor Patches) Forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        if (images.shape.Length != 4 || images.shape[1] != 3 || images.shape[2] != Config.ImageSize || images.shape[3] != Config.ImageSize)
            throw new UserError($"The image encoder takes [batch, 3, {Config.ImageSize}, {Config.ImageSize}] pixels but got [{string.Join(", ", images.shape)}]; prepare images with the model's image size.");
        var x = patch_embed.forward(images).flatten(2).transpose(1, 2);           // [B, N, d]
        x = cat([class_token.expand(x.shape[0], 1, Config.Width), x], 1) + pos_embed;
        x = ln_pre.forward(x);
        foreach (var block in blocks) x = block.Forward(x, causal: false);
        x = ln_post.forward(x);
        var patches = x[.., 1..];
        var pooled = Config.Pooling == "cls" ? x[.., 0] : patches.mean([1]);
        return (pooled.MoveToOuterDisposeScope(), patches.MoveToOuterDisposeScope());
    }
}

/// <summary>CLIP's text encoder: token + learned position embeddings, causal pre-norm blocks, pooled at each sequence's end-of-text token.</summary>
public sealed class TextEncoder : nn.Module
{
#pragma warning disable IDE1006
    readonly Embedding token_embed;
    readonly Parameter pos_embed;
    readonly ModuleList<EncoderBlock> blocks;
    readonly LayerNorm ln_final;
#pragma warning restore IDE1006

    public TextEncoderConfig Config { get; }

    public TextEncoder(TextEncoderConfig config) : base(nameof(TextEncoder))
    {
        Config = config.Validate();
        token_embed = nn.Embedding(config.VocabSize, config.Width);
        pos_embed = nn.Parameter(randn(1, config.ContextLength, config.Width) * 0.01);
        blocks = new ModuleList<EncoderBlock>([.. Enumerable.Range(0, config.Layers).Select(_ => new EncoderBlock(config.Width, config.Heads))]);
        ln_final = nn.LayerNorm(config.Width);
        RegisterComponents();
        using (no_grad()) token_embed.weight!.normal_(0, 0.02);
    }

    /// <summary>Ids [B, T] (padded after each end token) and end positions [B] → pooled [B, width].</summary>
    public Tensor Forward(Tensor ids, Tensor endPositions)
    {
        using var scope = NewDisposeScope();
        long t = ids.shape[1];
        var x = token_embed.forward(ids) + pos_embed[.., ..(int)t];
        foreach (var block in blocks) x = block.Forward(x, causal: true);
        x = ln_final.forward(x);
        var pooled = x[arange(ids.shape[0], device: ids.device), endPositions];
        return pooled.MoveToOuterDisposeScope();
    }
}
