namespace Gpt4Sharp.Text;

/// <summary>
/// What the model, trainer, generator and server need from a tokenizer. Implementations:
/// the project's own byte-level BPE (vocab.json + merges.txt) and OpenAI's tiktoken
/// encodings, both encoded and decoded through Microsoft.ML.Tokenizers; open either with
/// <see cref="Tokenizers.Load"/>. Instances are immutable and safe to share across threads.
/// </summary>
public interface ITokenizer
{
    /// <summary>A short name: a directory, or "cl100k_base" and the like.</summary>
    string Name { get; }

    /// <summary>Number of ids, special tokens included; the model's embedding size must be at least this.</summary>
    int VocabSize { get; }

    /// <summary>
    /// Encodes text. With <paramref name="allowSpecial"/>, special-token strings in the text become their ids; otherwise they are encoded as plain text.
    /// Lone UTF-16 surrogates are replaced by U+FFFD first, so Decode(Encode(s)) == s for valid strings.
    /// </summary>
    int[] Encode(string text, bool allowSpecial = false);

    /// <summary>Decodes ids to text; special tokens decode to their strings.</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>The raw bytes of one token (for streaming output that may split UTF-8 characters).</summary>
    byte[] TokenBytes(int id);

    /// <summary>The id of a special token string (see <see cref="SpecialTokens"/>), or null if this tokenizer lacks it.</summary>
    int? SpecialTokenId(string token);
}

/// <summary>The special tokens every Gpt4Sharp tokenizer carries: document end, chat roles, image spans.</summary>
public static class SpecialTokens
{
    public const string EndOfText = "<|endoftext|>";
    public const string System = "<|system|>";
    public const string User = "<|user|>";
    public const string Assistant = "<|assistant|>";
    public const string EndOfTurn = "<|end|>";
    public const string ImageStart = "<image>";
    public const string ImageEnd = "</image>";
    public const string ImagePatch = "<|image_patch|>";
    public const string Pad = "<|pad|>";

    /// <summary>In id order: the trainer appends them after the learned vocabulary.</summary>
    public static readonly IReadOnlyList<string> All = [EndOfText, System, User, Assistant, EndOfTurn, ImageStart, ImageEnd, ImagePatch, Pad];
}
