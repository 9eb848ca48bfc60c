using System.Text;
using System.Text.RegularExpressions;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Text;

public class BpeTrainerTests
{
    static int Id(char c) => c;

    [Fact]
    public void Learns_the_most_frequent_pair_first_on_a_hand_checked_corpus()
    {
        // Pre-tokens: "ab", " ab" x2, " abc". Pair counts: (a,b)=4, (' ',a)=3, (b,c)=1.
        // 1) a+b -> 256; now (' ',256)=3, (256,c)=1.  2) ' '+256 -> 257; now (257,c)=1.  3) 257+c -> 258.
        var model = BpeTrainer.Train(["ab ab ab abc"], vocabSize: 1000);
        Assert.Equal([(Id('a'), Id('b')), (Id(' '), 256), (257, Id('c'))], model.Merges);
        Assert.Equal(256 + 3 + SpecialTokens.All.Count, model.VocabSize); // stops when no pair is left
        Assert.Equal(" abc"u8.ToArray(), model.TokenBytes(258));
        Assert.Equal(12, model.TrainingBytes);
        Assert.Equal(4, model.TrainingTokens);
    }

    [Fact]
    public void Breaks_ties_by_smaller_left_then_right_id()
    {
        // "xy", " zw": all three pairs occur once. ' '(32) < 'x'(120): (' ',z) first, then (x,y) since 120 < 256.
        var model = BpeTrainer.Train(["xy zw"], vocabSize: 1000);
        Assert.Equal([(Id(' '), Id('z')), (Id('x'), Id('y')), (256, Id('w'))], model.Merges);
    }

    [Fact]
    public void Special_token_strings_in_training_text_are_separators()
    {
        var model = BpeTrainer.Train(["ab<|endoftext|>ab"], vocabSize: 1000);
        Assert.Equal([(Id('a'), Id('b'))], model.Merges);
    }

    [Fact]
    public void Fills_the_requested_vocabulary_and_puts_special_tokens_last()
    {
        var model = TestTokenizers.Model;
        Assert.Equal(600, model.VocabSize);
        var tokenizer = TestTokenizers.Ours;
        Assert.Equal(600, tokenizer.VocabSize);
        for (int i = 0; i < SpecialTokens.All.Count; i++)
            Assert.Equal(600 - SpecialTokens.All.Count + i, tokenizer.SpecialTokenId(SpecialTokens.All[i]));
    }

    [Fact]
    public void Special_tokens_are_atomic_only_when_allowed()
    {
        var tokenizer = TestTokenizers.Ours;
        var text = $"Hi{SpecialTokens.User}there{SpecialTokens.ImageStart}{SpecialTokens.EndOfText}";
        var allowed = tokenizer.Encode(text, allowSpecial: true);
        Assert.Contains(tokenizer.SpecialTokenId(SpecialTokens.User)!.Value, allowed);
        Assert.Contains(tokenizer.SpecialTokenId(SpecialTokens.ImageStart)!.Value, allowed);
        Assert.Equal(tokenizer.SpecialTokenId(SpecialTokens.EndOfText), allowed[^1]);
        var plain = tokenizer.Encode(text);
        Assert.DoesNotContain(plain, id => id >= TestTokenizers.Model.VocabSize - SpecialTokens.All.Count);
        Assert.Equal(text, tokenizer.Decode(plain));
        Assert.Equal(Encoding.UTF8.GetBytes(SpecialTokens.User), tokenizer.TokenBytes(tokenizer.SpecialTokenId(SpecialTokens.User)!.Value));
    }

    /// <summary>Microsoft.ML.Tokenizers, reading the saved files, must split exactly as the merges say.</summary>
    [Fact]
    public void Saved_files_reload_and_encode_like_applying_the_merges_in_order()
    {
        var model = TestTokenizers.Model;
        var tokenizer = TestTokenizers.Ours;
        var texts = TestTokenizers.Corpus.Append("Unseen words: tokenization, 强化学习的奖励模型, 🚀🚀 lazy foxes.\n");
        foreach (var text in texts)
        {
            var expected = PreTokenizerPatterns.Cl100k.Matches(text.Replace(SpecialTokens.EndOfText, ""))
                .SelectMany(m => ReferenceBpe(model, Encoding.UTF8.GetBytes(m.Value)));
            Assert.Equal(expected, tokenizer.Encode(text.Replace(SpecialTokens.EndOfText, "")));
        }
        long corpusTokens = Enumerable.Range(0, 8).SelectMany(_ => TestTokenizers.Corpus).Sum(t => (long)tokenizer.Encode(t.Replace(SpecialTokens.EndOfText, "")).Length);
        Assert.Equal(model.TrainingTokens, corpusTokens);
    }

    /// <summary>Textbook BPE: repeatedly merge the adjacent pair with the lowest merge rank.</summary>
    static List<int> ReferenceBpe(BpeModel model, byte[] bytes)
    {
        var rank = model.Merges.Select((pair, i) => (pair, i)).ToDictionary(x => x.pair, x => x.i);
        var symbols = bytes.Select(b => (int)b).ToList();
        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (rank.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < bestRank) (best, bestRank) = (i, r);
            if (best < 0) return symbols;
            symbols[best] = 256 + bestRank;
            symbols.RemoveAt(best + 1);
        }
    }

    [Fact]
    public void Training_is_deterministic_and_independent_of_document_order()
    {
        var texts = TestTokenizers.Corpus;
        var first = RepoPaths.NewTempDir();
        var second = RepoPaths.NewTempDir();
        BpeTrainer.Train(texts, 400).Save(first);
        BpeTrainer.Train(texts.Reverse(), 400).Save(second);
        foreach (var file in new[] { BpeModel.VocabFile, BpeModel.MergesFile, BpeModel.SpecialTokensFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file)), File.ReadAllBytes(Path.Combine(second, file)));
    }

    [Fact]
    public void Saves_gpt2_layout_files()
    {
        var merges = File.ReadAllLines(Path.Combine(TestTokenizers.Directory, BpeModel.MergesFile));
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(TestTokenizers.Model.Merges.Count, merges.Length - 1);
        Assert.Matches(new Regex(@"^\S+ \S+$"), merges[1]);
        var vocab = File.ReadAllText(Path.Combine(TestTokenizers.Directory, BpeModel.VocabFile));
        Assert.Contains("\"Ġ\": 32", vocab);
        Assert.Contains($"\"{SpecialTokens.EndOfText}\": {TestTokenizers.Model.SpecialTokenIds[SpecialTokens.EndOfText]}", vocab);
    }

    [Fact]
    public void Reports_progress_up_to_the_last_merge()
    {
        var reports = new List<BpeTrainingProgress>();
        BpeTrainer.Train(TestTokenizers.Corpus, 300, new SynchronousProgress(reports.Add));
        Assert.Contains(reports, r => r.Stage == "pre-tokenizing");
        var last = reports.Last(r => r.Stage == "merging");
        Assert.Equal(last.Total, last.Done);
    }

    [Fact]
    public void Rejects_a_vocabulary_too_small_and_an_empty_corpus()
    {
        Assert.Throws<UserError>(() => BpeTrainer.Train(["abc"], 200));
        Assert.Throws<UserError>(() => BpeTrainer.Train([""], 1000));
    }

    sealed class SynchronousProgress(Action<BpeTrainingProgress> report) : IProgress<BpeTrainingProgress>
    {
        public void Report(BpeTrainingProgress value)
        {
            lock (this) report(value);
        }
    }
}
