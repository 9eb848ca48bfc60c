using System.Text.Json.Nodes;
using Gpt4Sharp.Data;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Data;

public class TokenShardTests
{
    static readonly string[] Docs = Enumerable.Range(0, 40).Select(i => $"Document number {i}: " + new string((char)('a' + i % 26), i + 1) + " ünïcödé").ToArray();

    static (ShardSummary Summary, string Dir) Prepare(IEnumerable<string> docs, ITokenizer tokenizer, double fraction = 0.25, long seed = 7)
    {
        var dir = RepoPaths.NewTempDir();
        return (TokenShardWriter.Prepare(docs, tokenizer, dir, fraction, seed), dir);
    }

    static List<string> DocumentsIn(TokenShard shard, ITokenizer tokenizer)
    {
        var text = tokenizer.Decode(shard.ReadIds(0, (int)shard.Count));
        Assert.EndsWith(SpecialTokens.EndOfText, text);
        return [.. text.Split(SpecialTokens.EndOfText)[..^1]];
    }

    [Fact]
    public void Every_document_lands_in_exactly_one_split_followed_by_end_of_text()
    {
        var tokenizer = new ByteTokenizer();
        var (summary, dir) = Prepare(Docs, tokenizer);
        using var train = TokenShard.Open(summary.TrainPath);
        using var val = TokenShard.Open(summary.ValidationPath);
        var trainDocs = DocumentsIn(train, tokenizer);
        var valDocs = DocumentsIn(val, tokenizer);

        Assert.Equal(Docs.Order(), trainDocs.Concat(valDocs).Order());
        Assert.InRange(valDocs.Count, 4, 18); // about a quarter of 40
        Assert.Equal(summary.TrainDocuments, train.Header.DocumentCount);
        Assert.Equal(summary.ValidationTokens, val.Count);
        Assert.Equal("uint16", train.Header.DType);
        Assert.Equal(tokenizer.VocabSize, train.Header.VocabSize);
        Assert.Equal("bytes", train.Header.TokenizerName);

        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "meta.json")))!;
        Assert.Equal(summary.Fingerprint, (string)meta["tokenizer"]!["fingerprint_sha256"]!);
        Assert.Equal(summary.TrainTokens, (long)meta["train"]!["tokens"]!);
        Assert.Equal(tokenizer.SpecialTokenId(SpecialTokens.EndOfText), (int)meta["end_of_text_id"]!);
    }

    [Fact]
    public void The_split_is_a_function_of_the_seed()
    {
        var tokenizer = new ByteTokenizer();
        var (a, _) = Prepare(Docs, tokenizer, seed: 1);
        var (b, _) = Prepare(Docs, tokenizer, seed: 1);
        var (c, _) = Prepare(Docs, tokenizer, seed: 2);
        Assert.Equal(File.ReadAllBytes(a.TrainPath), File.ReadAllBytes(b.TrainPath));
        Assert.Equal(File.ReadAllBytes(a.ValidationPath), File.ReadAllBytes(b.ValidationPath));
        Assert.NotEqual(File.ReadAllBytes(a.ValidationPath), File.ReadAllBytes(c.ValidationPath));
    }

    [Fact]
    public void Validation_gets_a_document_even_when_the_fraction_is_tiny()
    {
        var (summary, _) = Prepare(["first document", "second document"], new ByteTokenizer(), fraction: 0.001);
        Assert.Equal(1, summary.TrainDocuments);
        Assert.Equal(1, summary.ValidationDocuments);
    }

    [Fact]
    public void A_single_document_goes_to_training()
    {
        var (summary, _) = Prepare(["only one"], new ByteTokenizer(), fraction: 0.99);
        Assert.Equal((1, 0), (summary.TrainDocuments, summary.ValidationDocuments));
    }

    [Fact]
    public void Large_vocabularies_are_stored_as_uint32()
    {
        var tokenizer = new ByteTokenizer("wide", offset: 70_000);
        var (summary, _) = Prepare(Docs, tokenizer);
        using var train = TokenShard.Open(summary.TrainPath);
        Assert.Equal("uint32", train.Header.DType);
        Assert.Equal(Docs.Length, DocumentsIn(train, tokenizer).Count + (int)summary.ValidationDocuments);
    }

    [Fact]
    public void No_input_and_bad_fractions_are_user_errors()
    {
        Assert.Contains("holds no documents", Assert.Throws<UserError>(() => Prepare([], new ByteTokenizer())).Message);
        Assert.Contains("outside [0, 1)", Assert.Throws<UserError>(() => Prepare(Docs, new ByteTokenizer(), fraction: 1.0)).Message);
    }

    [Fact]
    public void Damaged_shards_fail_to_open_with_one_sentence()
    {
        var (summary, dir) = Prepare(Docs, new ByteTokenizer());
        var good = File.ReadAllBytes(summary.TrainPath);

        var truncated = Path.Combine(dir, "truncated.bin");
        File.WriteAllBytes(truncated, good[..^3]);
        Assert.Contains("so it is truncated", Assert.Throws<UserError>(() => TokenShard.Open(truncated)).Message);

        var padded = Path.Combine(dir, "padded.bin");
        File.WriteAllBytes(padded, [.. good, 0, 0]);
        Assert.Contains("header promises", Assert.Throws<UserError>(() => TokenShard.Open(padded)).Message);

        var foreign = Path.Combine(dir, "foreign.bin");
        File.WriteAllBytes(foreign, [.. "PK\u0003\u0004"u8, .. good[4..]]);
        Assert.Contains("not a Gpt4Sharp token shard", Assert.Throws<UserError>(() => TokenShard.Open(foreign)).Message);

        var tiny = Path.Combine(dir, "tiny.bin");
        File.WriteAllBytes(tiny, good[..20]);
        Assert.Contains("shorter than the 72-byte header", Assert.Throws<UserError>(() => TokenShard.Open(tiny)).Message);

        Assert.Contains("does not exist", Assert.Throws<UserError>(() => TokenShard.Open(Path.Combine(dir, "nope.bin"))).Message);
    }

    [Fact]
    public void A_different_tokenizer_is_refused_with_the_fix()
    {
        var (summary, _) = Prepare(Docs, new ByteTokenizer("bytes"));
        using var train = TokenShard.Open(summary.TrainPath);
        train.CheckTokenizer(new ByteTokenizer("bytes-copy")); // same ids: the name alone does not matter

        var e = Assert.Throws<UserError>(() => train.CheckTokenizer(new ByteTokenizer("shifted", offset: 3)));
        Assert.Contains("made with tokenizer bytes (vocab 265) but the model uses shifted (vocab 268)", e.Message);
        Assert.Contains("gpt4sharp data prepare", e.Message);
    }

    [Fact]
    public void A_data_directory_opens_as_a_pair_only_when_both_shards_match()
    {
        var (_, dir) = Prepare(Docs, new ByteTokenizer());
        using (var shards = TokenShards.Open(dir))
        {
            shards.CheckTokenizer(new ByteTokenizer());
            Assert.Equal(shards.Train.Header.TokenCount + shards.Validation.Header.TokenCount,
                Docs.Sum(d => System.Text.Encoding.UTF8.GetByteCount(d) + 1));
        }
        var (other, _) = Prepare(Docs, new ByteTokenizer("shifted", offset: 1));
        File.Copy(other.ValidationPath, Path.Combine(dir, "val.bin"), overwrite: true);
        Assert.Contains("different tokenizers", Assert.Throws<UserError>(() => TokenShards.Open(dir)).Message);
        Assert.Contains("does not exist", Assert.Throws<UserError>(() => TokenShards.Open(Path.Combine(dir, "missing"))).Message);
    }

    [Fact]
    public void Tokenizer_without_end_of_text_is_refused()
    {
        var e = Assert.Throws<UserError>(() => Prepare(Docs, new NoSpecials()));
        Assert.Contains("has no <|endoftext|> token", e.Message);
    }

    sealed class NoSpecials : ITokenizer
    {
        readonly ByteTokenizer _inner = new("plain");
        public string Name => "plain";
        public int VocabSize => 256;
        public int[] Encode(string text, bool allowSpecial = false) => _inner.Encode(text);
        public string Decode(IEnumerable<int> ids) => _inner.Decode(ids);
        public byte[] TokenBytes(int id) => _inner.TokenBytes(id);
        public int? SpecialTokenId(string token) => null;
    }
}
