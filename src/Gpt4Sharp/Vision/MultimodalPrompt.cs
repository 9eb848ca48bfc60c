using Gpt4Sharp.Text;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>A chat turn with pictures ([3, S, S] tensors from <see cref="ImageSpanEncoder.LoadImage"/>) placed before its text, in order.</summary>
public sealed record MultimodalMessage(string Role, string Content, IReadOnlyList<Tensor>? Images = null);

/// <summary>Ids with image spans, the assistant loss mask, and the pictures whose features fill the spans in order.</summary>
public sealed record MultimodalEncoding(int[] Ids, bool[] AssistantMask, IReadOnlyList<Tensor> Images);

/// <summary>
/// The project's chat format (<see cref="ChatTemplate"/>) with image spans: a message's pictures
/// become <c>&lt;image&gt; &lt;|image_patch|&gt;×k &lt;/image&gt;</c> right after its role token,
/// so any number of images can sit in any turn and text-only turns encode exactly as
/// ChatTemplate does.
/// </summary>
public static class MultimodalChat
{
    /// <summary>The span ids of one picture: start, k placeholders, end.</summary>
    public static int[] SpanIds(ITokenizer tokenizer, int tokensPerImage)
    {
        int start = Special(tokenizer, SpecialTokens.ImageStart), end = Special(tokenizer, SpecialTokens.ImageEnd), patch = Special(tokenizer, SpecialTokens.ImagePatch);
        return [start, .. Enumerable.Repeat(patch, tokensPerImage), end];
    }

    public static MultimodalEncoding Encode(ITokenizer tokenizer, IReadOnlyList<MultimodalMessage> messages, int tokensPerImage, bool addGenerationPrompt = false)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        var images = new List<Tensor>();
        var span = SpanIds(tokenizer, tokensPerImage);
        foreach (var message in messages)
        {
            var text = ChatTemplate.Encode(tokenizer, [new ChatMessage(message.Role, message.Content)]);
            ids.Add(text.Ids[0]);
            mask.Add(text.AssistantMask[0]);
            foreach (var image in message.Images ?? [])
            {
                ids.AddRange(span);
                mask.AddRange(Enumerable.Repeat(false, span.Length));
                images.Add(image);
            }
            ids.AddRange(text.Ids.Skip(1));
            mask.AddRange(text.AssistantMask.Skip(1));
        }
        if (addGenerationPrompt)
        {
            ids.Add(Special(tokenizer, SpecialTokens.Assistant));
            mask.Add(false);
        }
        return new MultimodalEncoding([.. ids], [.. mask], images);
    }

    internal static int Special(ITokenizer tokenizer, string token) => tokenizer.SpecialTokenId(token)
        ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {token} token; multimodal models need a Gpt4Sharp tokenizer with the image tokens.");
}

/// <summary>
/// Turns pictures into decoder input: loads files with the model's image preparation and
/// builds input embeddings for ids that contain image spans. The chat session feeds
/// <see cref="Embed"/>'s result to <c>GptModel.ForwardEmbeddings(embeddings, cache)</c> for each
/// new chunk of ids (a KV cache stores the image positions like any others).
/// </summary>
public sealed class ImageSpanEncoder(VisionLanguageModel model, ITokenizer tokenizer)
{
    readonly int placeholder = MultimodalChat.Special(tokenizer, SpecialTokens.ImagePatch);

    public ImageOptions ImageOptions { get; } = new ImageOptions { Size = model.Config.Vision.ImageSize }.Validate();
    public int TokensPerImage => model.TokensPerImage;

    /// <summary>A picture file as [3, S, S] (PNG, JPEG or WebP; clear errors for anything else).</summary>
    public Tensor LoadImage(string path) => ImageInput.Load(path, ImageOptions);

    /// <summary>Span ids for one picture.</summary>
    public int[] SpanIds() => MultimodalChat.SpanIds(tokenizer, TokensPerImage);

    /// <summary>Input embeddings [1, T, d] for ids (a whole prompt or just the new tokens of a turn) and the pictures of their spans in order.</summary>
    public Tensor Embed(IReadOnlyList<int> ids, IReadOnlyList<Tensor> images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.Decoder.Device;
        var idTensor = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count], device: device);
        Tensor? features = images.Count == 0 ? null : model.PatchFeatures(stack(images).to(device));
        return model.Embed(idTensor, features, placeholder).MoveToOuterDisposeScope();
    }
}
