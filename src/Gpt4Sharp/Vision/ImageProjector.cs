using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Vision;

/// <summary>
/// Maps ViT patch features [N, patches, width] to decoder input embeddings [N, k, d]: a linear
/// projection per patch (LLaVA), or a Perceiver-style resampler (Flamingo, Alayrac et al. 2022;
/// KOSMOS-1) whose k learned queries cross-attend to the patches, so every image costs k tokens.
/// </summary>
public sealed class ImageProjector : nn.Module
{
#pragma warning disable IDE1006
    readonly Linear proj;
    readonly Parameter? latents;
    readonly LayerNorm? ln_latents, ln_patches, ln_mlp;
    readonly Linear? q_proj, kv_proj, o_proj, fc1, fc2;
#pragma warning restore IDE1006
    readonly int heads;

    public ImageProjector(int visionWidth, int dModel, string kind, int tokens, int heads) : base(nameof(ImageProjector))
    {
        this.heads = heads;
        proj = nn.Linear(visionWidth, dModel);
        if (kind == "resampler")
        {
            latents = nn.Parameter(randn(tokens, dModel) * 0.02);
            ln_latents = nn.LayerNorm(dModel);
            ln_patches = nn.LayerNorm(dModel);
            q_proj = nn.Linear(dModel, dModel, hasBias: false);
            kv_proj = nn.Linear(dModel, 2 * dModel, hasBias: false);
            o_proj = nn.Linear(dModel, dModel, hasBias: false);
            ln_mlp = nn.LayerNorm(dModel);
            fc1 = nn.Linear(dModel, 4 * dModel);
            fc2 = nn.Linear(4 * dModel, dModel);
        }
        RegisterComponents();
    }

    public Tensor Forward(Tensor patches)
    {
        using var scope = NewDisposeScope();
        var x = proj.forward(patches);                                  // [N, P, d]
        if (latents is null) return x.MoveToOuterDisposeScope();
        long n = x.shape[0], p = x.shape[1], d = x.shape[2], k = latents.shape[0];
        var q = q_proj!.forward(ln_latents!.forward(latents)).expand(n, k, d).view(n, k, heads, d / heads).transpose(1, 2);
        var kv = kv_proj!.forward(ln_patches!.forward(x)).view(n, p, 2, heads, d / heads).permute(2, 0, 3, 1, 4);
        var attended = F.scaled_dot_product_attention(q, kv[0], kv[1]).transpose(1, 2).reshape(n, k, d);
        var h = latents.expand(n, k, d) + o_proj!.forward(attended);
        h = h + fc2!.forward(F.gelu(fc1!.forward(ln_mlp!.forward(h))));
        return h.MoveToOuterDisposeScope();
    }
}
