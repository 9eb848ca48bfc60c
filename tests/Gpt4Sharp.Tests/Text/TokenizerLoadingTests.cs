using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Text;

public class TokenizerLoadingTests
{
    // Reference ids from OpenAI's tiktoken for "hello world".
    [Theory]
    [InlineData("r50k_base", 50257, 50256, new[] { 31373, 995 })]
    [InlineData("cl100k_base", 100277, 100257, new[] { 15339, 1917 })]
    [InlineData("o200k_base", 200019, 199999, new[] { 24912, 2375 })]
    public void Loads_tiktoken_encodings(string name, int vocabSize, int endOfText, int[] helloWorld)
    {
        var tokenizer = Tokenizers.Load(name);
        Assert.Equal(name, tokenizer.Name);
        Assert.Equal(vocabSize, tokenizer.VocabSize);
        Assert.Equal(helloWorld, tokenizer.Encode("hello world"));
        Assert.Equal(endOfText, tokenizer.SpecialTokenId(SpecialTokens.EndOfText));
        Assert.Null(tokenizer.SpecialTokenId(SpecialTokens.User));
        Assert.Equal([endOfText], tokenizer.Encode(SpecialTokens.EndOfText, allowSpecial: true));
        Assert.True(tokenizer.Encode(SpecialTokens.EndOfText).Length > 1);
        Assert.Equal(" world"u8.ToArray(), tokenizer.TokenBytes(helloWorld[1]));
    }

    [Fact]
    public void Token_bytes_keep_partial_utf8_characters()
    {
        var tokenizer = Tokenizers.Load("r50k_base");
        var ids = tokenizer.Encode("雨"); // one Han character = 3 bytes, split over tokens by GPT-2's vocabulary
        Assert.True(ids.Length > 1);
        Assert.Equal("雨"u8.ToArray(), ids.SelectMany(tokenizer.TokenBytes).ToArray());
    }

    [Fact]
    public void Unknown_name_or_missing_directory_is_a_user_error()
    {
        var e = Assert.Throws<UserError>(() => Tokenizers.Load("/no/such/tokenizer"));
        Assert.Contains("cl100k_base", e.Message);
    }

    [Fact]
    public void Missing_merges_file_is_a_user_error()
    {
        var dir = RepoPaths.NewTempDir();
        File.Copy(Path.Combine(TestTokenizers.Directory, BpeModel.VocabFile), Path.Combine(dir, BpeModel.VocabFile));
        var e = Assert.Throws<UserError>(() => Tokenizers.Load(dir));
        Assert.Contains("merges.txt", e.Message);
    }

    [Theory]
    [InlineData(BpeModel.VocabFile, "{\"a\": 0, oops")]
    [InlineData(BpeModel.MergesFile, "#version: 0.2\nzz qq\n")]
    [InlineData(BpeModel.SpecialTokensFile, "[1, 2]")]
    public void Corrupt_file_is_a_user_error(string file, string content)
    {
        var dir = RepoPaths.NewTempDir();
        foreach (var name in new[] { BpeModel.VocabFile, BpeModel.MergesFile, BpeModel.SpecialTokensFile })
            File.Copy(Path.Combine(TestTokenizers.Directory, name), Path.Combine(dir, name));
        File.WriteAllText(Path.Combine(dir, file), content);
        var e = Assert.Throws<UserError>(() => Tokenizers.Load(dir));
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void Counts_tokens_per_han_character_over_han_runs_only()
    {
        var count = TokenCount.Measure(Tokenizers.Load("cl100k_base"), "GPT-4模型, 😀 推理。");
        Assert.Equal(14, count.Characters); // the emoji is one character
        Assert.Equal(4, count.HanCharacters);
        var tokenizer = Tokenizers.Load("cl100k_base");
        Assert.Equal(tokenizer.Encode("模型").Length + tokenizer.Encode("推理").Length, count.HanTokens);
        Assert.Equal(tokenizer.Encode("GPT-4模型, 😀 推理。").Length, count.Tokens);
    }
}

public class TokenizerConcurrencyTests
{
    /// <summary>Generation and serving share one instance across threads; the package's caches must cope.</summary>
    [Fact]
    public void Encoding_from_many_threads_matches_encoding_on_one()
    {
        var texts = Enumerable.Range(0, 3000).Select(i => $"word{i} 模型{(char)(0x4E00 + i)} {i * 7919} 😀{i % 13}").ToArray();
        foreach (var fresh in new[] { Tokenizers.Load(TestTokenizers.Directory), Tokenizers.Load("o200k_base") })
        {
            var parallel = new int[texts.Length][];
            Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = fresh.Encode(texts[i]));
            for (int i = 0; i < texts.Length; i++) Assert.Equal(fresh.Encode(texts[i]), parallel[i]);
        }
    }
}
