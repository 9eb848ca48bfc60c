using Gpt4Sharp.Model;

namespace Gpt4Sharp.Vision;

/// <summary>
/// A vision-language model: the CLIP image encoder, a projector from patch features to the
/// decoder's width, and a decoder-only language model reading image spans between text.
/// </summary>
public sealed record VlmConfig
{
    public VisionConfig Vision { get; init; } = new();
    public GptConfig Decoder { get; init; } = GptConfig.Create(vocabSize: 640, contextLength: 192, dModel: 128, layers: 4, heads: 4);
    /// <summary>"linear" (one token per patch) or "resampler" (a Perceiver-style cross-attention to a fixed number of tokens).</summary>
    public string Projector { get; init; } = "linear";
    /// <summary>Image tokens per picture with the resampler.</summary>
    public int ResamplerTokens { get; init; } = 8;
    /// <summary>Tokenizer: a tiktoken name, or a directory relative to the run directory.</summary>
    public string Tokenizer { get; init; } = "tokenizer";

    public int TokensPerImage => Projector == "resampler" ? ResamplerTokens : Vision.Patches;

    public VlmConfig Validate()
    {
        Vision.Validate();
        Decoder.Validate();
        VisionConfig.Require(Projector is "linear" or "resampler", $"projector must be linear or resampler (got {Projector})");
        VisionConfig.Require(ResamplerTokens >= 1, $"resampler tokens must be positive (got {ResamplerTokens})");
        VisionConfig.Require(TokensPerImage + 2 < Decoder.ContextLength, $"an image span of {TokensPerImage + 2} tokens must fit in the decoder's context of {Decoder.ContextLength}");
        return this;
    }
}
