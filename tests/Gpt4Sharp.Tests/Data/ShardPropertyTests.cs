using System.Text;
using FsCheck.Xunit;
using Gpt4Sharp.Data;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Data;

public class ShardPropertyTests
{
    /// <summary>Strings the byte tokenizer round-trips: valid UTF-16 and no literal end-of-text marker.</summary>
    static string Clean(string? s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s ?? "")).Replace(SpecialTokens.EndOfText, "");

    static bool IsSubsequence(List<string> part, string[] whole)
    {
        var i = 0;
        foreach (var doc in whole) if (i < part.Count && part[i] == doc) i++;
        return i == part.Count;
    }

    [Property(MaxTest = 25)]
    public bool Shards_hold_every_document_once_in_input_order(string[] raw, long seed)
    {
        var docs = (raw ?? []).Select(Clean).Append("guaranteed non-empty").ToArray();
        var tokenizer = new ByteTokenizer();
        var summary = TokenShardWriter.Prepare(docs, tokenizer, RepoPaths.NewTempDir(), 0.3, seed);
        using var train = TokenShard.Open(summary.TrainPath);
        using var val = TokenShard.Open(summary.ValidationPath);
        List<string> Split(TokenShard shard) =>
            [.. tokenizer.Decode(shard.ReadIds(0, (int)shard.Count)).Split(SpecialTokens.EndOfText)[..^1]];
        var t = Split(train);
        var v = Split(val);
        return t.Count + v.Count == docs.Length
            && IsSubsequence(t, docs) && IsSubsequence(v, docs)
            && t.Concat(v).Order(StringComparer.Ordinal).SequenceEqual(docs.Order(StringComparer.Ordinal));
    }
}
