using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Text;

/// <summary>
/// A trained byte-level BPE vocabulary: ids 0-255 are the bytes, id 256+i is merge i, and the
/// <see cref="SpecialTokens.All"/> follow. Saved in GPT-2's layout so Microsoft.ML.Tokenizers
/// (and Hugging Face tools) load it: <c>vocab.json</c> (token spelling -> id, bytes spelled with
/// <see cref="ByteLevel"/>, special tokens included), <c>merges.txt</c> (one "left right" pair
/// per line in merge order) and <c>special_tokens.json</c> (special token -> id).
/// </summary>
public sealed class BpeModel
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string SpecialTokensFile = "special_tokens.json";

    readonly List<byte[]> tokenBytes;

    internal BpeModel(IReadOnlyList<(int Left, int Right)> merges, long trainingBytes, long trainingTokens)
    {
        Merges = merges;
        TrainingBytes = trainingBytes;
        TrainingTokens = trainingTokens;
        tokenBytes = [.. Enumerable.Range(0, 256).Select(b => new[] { (byte)b })];
        foreach (var (left, right) in merges) tokenBytes.Add([.. tokenBytes[left], .. tokenBytes[right]]);
    }

    /// <summary>The learned merges in order; merge i created id 256 + i.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges { get; }

    /// <summary>Ids in total: bytes, merges and special tokens.</summary>
    public int VocabSize => 256 + Merges.Count + SpecialTokens.All.Count;

    /// <summary>Special token -> id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokenIds =>
        SpecialTokens.All.Select((token, i) => (token, id: 256 + Merges.Count + i)).ToDictionary(x => x.token, x => x.id);

    /// <summary>UTF-8 bytes of the training text (special tokens left out).</summary>
    public long TrainingBytes { get; }

    /// <summary>Tokens the training text encodes to with the final vocabulary.</summary>
    public long TrainingTokens { get; }

    /// <summary>Compression on the training text.</summary>
    public double BytesPerToken => TrainingTokens == 0 ? 0 : (double)TrainingBytes / TrainingTokens;

    /// <summary>The bytes of a non-special token.</summary>
    public byte[] TokenBytes(int id) => tokenBytes[id];

    /// <summary>Writes vocab.json, merges.txt and special_tokens.json into the directory (created if needed), each atomically.</summary>
    public void Save(string directory)
    {
        var vocab = new List<KeyValuePair<string, int>>(VocabSize);
        for (int id = 0; id < tokenBytes.Count; id++) vocab.Add(new(ByteLevel.Encode(tokenBytes[id]), id));
        var specials = SpecialTokenIds.OrderBy(kv => kv.Value).ToList();
        vocab.AddRange(specials);
        AtomicFile.Write(Path.Combine(directory, VocabFile), s => WriteJsonObject(s, vocab));
        AtomicFile.Write(Path.Combine(directory, SpecialTokensFile), s => WriteJsonObject(s, specials));

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges)
            merges.Append(ByteLevel.Encode(tokenBytes[left])).Append(' ').Append(ByteLevel.Encode(tokenBytes[right])).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, MergesFile), merges.ToString());
    }

    /// <summary>One entry per line in id order, non-ASCII kept readable ('Ġthe', not '\u0120the').</summary>
    static void WriteJsonObject(Stream stream, IEnumerable<KeyValuePair<string, int>> entries)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        foreach (var (token, id) in entries) json.WriteNumber(token, id);
        json.WriteEndObject();
    }
}
