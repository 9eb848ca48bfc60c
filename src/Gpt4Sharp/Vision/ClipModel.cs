using Gpt4Sharp.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Vision;

/// <summary>
/// CLIP (Radford et al. 2021): an image tower and a text tower projected into one embedding
/// space, trained so that matching image/caption pairs have the highest cosine similarity in
/// the batch. The temperature is learned (as log scale); the sigmoid loss adds a learned bias.
/// </summary>
public sealed class ClipModel : nn.Module
{
#pragma warning disable IDE1006
    readonly VisionTransformer vision;
    readonly TextEncoder text;
    readonly Linear vision_proj, text_proj;
    readonly Parameter logit_scale, logit_bias;
#pragma warning restore IDE1006

    public ClipConfig Config { get; }
    public VisionTransformer Vision => vision;

    public ClipModel(ClipConfig config, long seed = 1) : base(nameof(ClipModel))
    {
        Config = config.Validate();
        manual_seed(seed);
        vision = new VisionTransformer(config.Vision);
        text = new TextEncoder(config.Text);
        vision_proj = nn.Linear(config.Vision.Width, config.EmbedDim, hasBias: false);
        text_proj = nn.Linear(config.Text.Width, config.EmbedDim, hasBias: false);
        // CLIP starts at temperature 0.07; SigLIP at scale 10 with bias -10 so that the many negatives start near probability 0.
        bool sigmoid = config.Loss == "sigmoid";
        logit_scale = nn.Parameter(tensor(sigmoid ? MathF.Log(10f) : MathF.Log(1 / 0.07f)));
        logit_bias = nn.Parameter(tensor(sigmoid ? -10f : 0f), requires_grad: sigmoid);
        RegisterComponents();
    }

    /// <summary>L2-normalised image embeddings [B, E] for pixels [B, 3, S, S].</summary>
    public Tensor EncodeImages(Tensor images)
    {
        using var scope = NewDisposeScope();
        return F.normalize(vision_proj.forward(vision.Forward(images).Pooled), dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>L2-normalised text embeddings [B, E] for a batch from <see cref="TextBatch"/>.</summary>
    public Tensor EncodeText(TextBatch batch)
    {
        using var scope = NewDisposeScope();
        var device = vision_proj.weight!.device;
        return F.normalize(text_proj.forward(text.Forward(batch.Ids.to(device), batch.EndPositions.to(device))), dim: -1).MoveToOuterDisposeScope();
    }

    /// <summary>Temperature-scaled similarity logits [images, texts] (cosine × e^scale, scale capped at ln 100 as in CLIP).</summary>
    public Tensor Logits(Tensor imageEmbeddings, Tensor textEmbeddings) =>
        imageEmbeddings.matmul(textEmbeddings.T) * logit_scale.clamp(max: MathF.Log(100f)).exp() + logit_bias;

    /// <summary>The contrastive loss for a batch of matching pairs (row i of each belongs together).</summary>
    public Tensor Loss(Tensor imageEmbeddings, Tensor textEmbeddings)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(imageEmbeddings, textEmbeddings);
        long n = logits.shape[0];
        Tensor loss;
        if (Config.Loss == "sigmoid")
        {
            // Every pair is an independent binary label: +1 on the diagonal, -1 elsewhere.
            var labels = eye(n, device: logits.device) * 2 - 1;
            loss = -F.logsigmoid(labels * logits).sum() / n;
        }
        else
        {
            var targets = arange(n, device: logits.device);
            loss = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2;
        }
        return loss.MoveToOuterDisposeScope();
    }

    public double Temperature => 1 / Math.Exp(logit_scale.item<float>());
}

/// <summary>Token ids for the text tower: each text + end-of-text, truncated to the context, padded.</summary>
public sealed record TextBatch(Tensor Ids, Tensor EndPositions) : IDisposable
{
    public static TextBatch Encode(ITokenizer tokenizer, IReadOnlyList<string> texts, int context)
    {
        int end = tokenizer.SpecialTokenId(SpecialTokens.EndOfText) ?? throw new UserError($"Tokenizer {tokenizer.Name} has no {SpecialTokens.EndOfText} token; use a Gpt4Sharp tokenizer.");
        int pad = tokenizer.SpecialTokenId(SpecialTokens.Pad) ?? end;
        var rows = texts.Select(t => tokenizer.Encode(t).Take(context - 1).Append(end).ToArray()).ToArray();
        int width = rows.Max(r => r.Length);
        var ids = new long[rows.Length * width];
        Array.Fill(ids, pad);
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Length; j++) ids[i * width + j] = rows[i][j];
        return new TextBatch(tensor(ids, [rows.Length, width]), tensor(rows.Select(r => (long)r.Length - 1).ToArray()));
    }

    public void Dispose()
    {
        Ids.Dispose();
        EndPositions.Dispose();
    }
}
