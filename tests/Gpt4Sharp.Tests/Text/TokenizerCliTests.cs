using System.CommandLine;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Text;

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class TokenizerCliTests
{
    [Fact]
    public void Trains_from_text_and_jsonl_then_counts_tokens()
    {
        var dir = RepoPaths.NewTempDir();
        var text = Path.Combine(dir, "a.txt");
        var jsonl = Path.Combine(dir, "b.jsonl");
        File.WriteAllText(text, string.Concat(TestTokenizers.Corpus));
        File.WriteAllLines(jsonl, TestTokenizers.Corpus.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t, id = 1 })));
        var output = Path.Combine(dir, "tok");

        Assert.Equal(0, TokenizerCommands.Create().Parse(["train", "--input", text, jsonl, "--vocab-size", "400", "--out", output]).Invoke());
        var tokenizer = Tokenizers.Load(output);
        Assert.Equal(400, tokenizer.VocabSize);
        Assert.True(File.Exists(Path.Combine(output, "run.json")));

        Assert.Equal(0, TokenizerCommands.CreateTokens().Parse(["count", "--tokenizer", output, text]).Invoke());
        Assert.Equal(1, TokenizerCommands.CreateTokens().Parse(["count", "--tokenizer", Path.Combine(dir, "missing"), text]).Invoke());
    }
}
