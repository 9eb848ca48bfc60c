using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;
using static TorchSharp.torch;

namespace Gpt4Sharp.Server;

/// <summary>A chat message as the model reads it: role, text and the encoded pictures (PNG/JPEG/WebP bytes) placed before the text.</summary>
public sealed record PromptMessage(string Role, string Text, IReadOnlyList<byte[]> Images)
{
    public PromptMessage(string role, string text) : this(role, text, []) { }
}

/// <summary>Prompt ids for the chat template and the pictures [3, S, S] their image spans stand for, in order (the caller owns them until submitted).</summary>
public sealed record EncodedPrompt(int[] Ids, IReadOnlyList<Tensor> Pictures) : IDisposable
{
    public void Dispose()
    {
        foreach (var p in Pictures) p.Dispose();
    }
}

/// <summary>
/// Frames chat messages for the model, shared by the HTTP API and the in-process
/// <see cref="Gpt4SharpChatClient"/>: text-only conversations with <see cref="ChatTemplate"/>,
/// conversations with pictures with <see cref="MultimodalChat"/> (which frames text-only turns
/// identically), decoding each picture with the model's image preparation.
/// </summary>
public static class ChatPrompt
{
    /// <summary>
    /// Encodes <paramref name="messages"/> followed by the assistant's turn marker. A picture
    /// for a text-only model (<paramref name="images"/> null) or a picture that does not decode
    /// is a <see cref="UserError"/> naming the message.
    /// </summary>
    public static EncodedPrompt Encode(ITokenizer tokenizer, ImageSpanEncoder? images, IReadOnlyList<PromptMessage> messages)
    {
        if (messages.All(m => m.Images.Count == 0))
            return new EncodedPrompt(ChatTemplate.Encode(tokenizer, [.. messages.Select(m => new ChatMessage(m.Role, m.Text))], addGenerationPrompt: true).Ids, []);
        if (images is null)
            throw new UserError("This model reads no images; send text only, or serve a vision-language model trained with `gpt4sharp vlm train`.");
        var pictures = new List<Tensor>();
        try
        {
            var framed = new List<MultimodalMessage>();
            for (int i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                var own = new List<Tensor>();
                for (int j = 0; j < m.Images.Count; j++)
                {
                    using var bitmap = ImageInput.Decode(m.Images[j], $"{j + 1} of message {i + 1}", images.ImageOptions);
                    var pixels = ImageInput.FromBitmap(bitmap, images.ImageOptions);
                    pictures.Add(pixels);
                    own.Add(pixels);
                }
                framed.Add(new MultimodalMessage(m.Role, m.Text, own));
            }
            var encoding = MultimodalChat.Encode(tokenizer, framed, images.TokensPerImage, addGenerationPrompt: true);
            return new EncodedPrompt(encoding.Ids, encoding.Images);
        }
        catch
        {
            foreach (var p in pictures) p.Dispose();
            throw;
        }
    }
}
