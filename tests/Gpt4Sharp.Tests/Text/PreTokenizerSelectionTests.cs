using System.Text.Json.Nodes;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Text;

/// <summary>
/// A tokenizer directory splits text with the regex its model was trained with: GPT-2's for GPT-2
/// checkpoints (numbers stay whole), cl100k's for ours (numbers in groups of at most three).
/// </summary>
public sealed class PreTokenizerSelectionTests
{
    /// <summary>A byte-level BPE in the bare GPT-2 layout whose merges build "12345" digit by digit.</summary>
    static string Gpt2Layout()
    {
        var dir = RepoPaths.NewTempDir();
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevel.Encode([(byte)b])] = b;
        string[] built = ["12", "123", "1234", "12345"];
        for (int i = 0; i < built.Length; i++) vocab[built[i]] = 256 + i;
        File.WriteAllText(Path.Combine(dir, BpeModel.VocabFile), vocab.ToJsonString());
        File.WriteAllText(Path.Combine(dir, BpeModel.MergesFile), "#version: 0.2\n1 2\n12 3\n123 4\n1234 5\n");
        return dir;
    }

    [Fact]
    public void TheBareGpt2LayoutKeepsNumbersWholeAsGpt2Does()
    {
        var dir = Gpt2Layout();
        Assert.Same(PreTokenizerPatterns.R50k, Tokenizers.PreTokenizerOf(dir));
        Assert.Equal([259], Tokenizers.Load(dir).Encode("12345"));
    }

    [Fact]
    public void OurOwnDirectoriesSplitNumbersInThreesAsCl100kDoes()
    {
        var dir = Gpt2Layout();
        File.WriteAllText(Path.Combine(dir, BpeModel.SpecialTokensFile), "{}");
        Assert.Same(PreTokenizerPatterns.Cl100k, Tokenizers.PreTokenizerOf(dir));
        Assert.Equal([257, (int)'4', (int)'5'], Tokenizers.Load(dir).Encode("12345"));
    }

    [Fact]
    public void TheHuggingFaceFilesKeepThePreTokenizerTheyWereReadWith()
    {
        var dir = RepoPaths.NewTempDir();
        TokenizerFiles.Read(Gpt2Layout()).WriteHuggingFace(dir, contextLength: 64);
        var declared = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!["pre_tokenizer"]!;
        Assert.Equal("ByteLevel", (string?)declared["type"]);
        Assert.True((bool)declared["use_regex"]!);
        Assert.Same(PreTokenizerPatterns.R50k, Tokenizers.PreTokenizerOf(dir));
        Assert.Equal([259], Tokenizers.Load(dir).Encode("12345"));
    }

    [Fact]
    public void KnownSplitPatternsAreRecognisedAndUnknownOnesFallBackToCl100k()
    {
        Assert.Same(PreTokenizerPatterns.O200k, PreTokenizerPatterns.FromHuggingFace(PreTokenizerPatterns.ToHuggingFace(PreTokenizerPatterns.O200k)));
        Assert.Same(PreTokenizerPatterns.Cl100k, PreTokenizerPatterns.FromHuggingFace(PreTokenizerPatterns.ToHuggingFace(PreTokenizerPatterns.Cl100k)));
        Assert.Null(PreTokenizerPatterns.FromHuggingFace(JsonNode.Parse("""{"type": "Whitespace"}""")));
        Assert.Null(PreTokenizerPatterns.FromHuggingFace(JsonNode.Parse("""{"type": "ByteLevel", "use_regex": false}""")));

        var dir = Gpt2Layout();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), """{"pre_tokenizer": {"type": "Whitespace"}}""");
        Assert.Same(PreTokenizerPatterns.Cl100k, Tokenizers.PreTokenizerOf(dir));
    }
}
