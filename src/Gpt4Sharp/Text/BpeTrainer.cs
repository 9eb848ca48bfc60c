using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Gpt4Sharp.Text;

/// <summary>How far training has got: <see cref="Stage"/> is "pre-tokenizing" (bytes) or "merging" (merges).</summary>
public readonly record struct BpeTrainingProgress(string Stage, long Done, long Total);

/// <summary>
/// Trains a byte-level BPE vocabulary the GPT-4 way: text is split into pre-tokens by the
/// cl100k_base regex, each pre-token starts as its UTF-8 bytes (ids 0-255), and the most
/// frequent adjacent pair is merged into a new id until the vocabulary is full; the
/// <see cref="SpecialTokens.All"/> come last. Special-token strings in the training text are
/// treated as separators, never learned from.
/// <para>
/// Pair counts are kept incrementally (Sennrich et al. style, as in HF tokenizers): a table of
/// unique pre-tokens with their frequencies, pair -> count, pair -> words containing it, and a
/// max-heap of pairs. A merge touches only the words that contain the merged pair, so the cost
/// per merge is proportional to those words, not to the corpus. The heap is lazy: a count
/// change pushes a fresh entry, and popped entries whose count is out of date are skipped.
/// </para>
/// <para>
/// Ties are broken deterministically: highest count first, then the pair whose left id is
/// smaller, then the smaller right id (older tokens win). The result depends only on the text.
/// </para>
/// </summary>
public static class BpeTrainer
{
    /// <summary>The 256 byte tokens, all special tokens and at least one merge.</summary>
    public static int MinVocabSize => 256 + SpecialTokens.All.Count + 1;

    static readonly Regex SpecialSplitter = new(
        string.Join("|", SpecialTokens.All.Select(Regex.Escape)), RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>Trains on the texts (each a document) until <paramref name="vocabSize"/> ids exist, special tokens included, or no pair is left.</summary>
    public static BpeModel Train(IEnumerable<string> texts, int vocabSize, IProgress<BpeTrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (vocabSize < MinVocabSize)
            throw new UserError($"--vocab-size must be at least {MinVocabSize} (256 bytes, {SpecialTokens.All.Count} special tokens and one merge).");
        var wordCounts = CountPreTokens(texts as IReadOnlyList<string> ?? texts.ToList(), progress, cancel);
        if (wordCounts.Count == 0) throw new UserError("The training text is empty; pass files that contain text.");

        var corpus = new PairIndex(wordCounts);
        int wantedMerges = vocabSize - 256 - SpecialTokens.All.Count;
        var merges = new List<(int Left, int Right)>(wantedMerges);
        while (merges.Count < wantedMerges && corpus.TryPopBestPair(out var pair))
        {
            cancel.ThrowIfCancellationRequested();
            corpus.Merge(pair, newId: 256 + merges.Count);
            merges.Add(pair);
            if (merges.Count % 64 == 0 || merges.Count == wantedMerges)
                progress?.Report(new("merging", merges.Count, wantedMerges));
        }
        return new BpeModel(merges, corpus.TotalBytes, corpus.TotalTokens());
    }

    /// <summary>Frequency of every distinct pre-token; documents are split on two cores in parallel.</summary>
    static Dictionary<string, int> CountPreTokens(IReadOnlyList<string> texts, IProgress<BpeTrainingProgress>? progress, CancellationToken cancel)
    {
        long totalChars = texts.Sum(t => (long)t.Length), doneChars = 0;
        var partials = new ConcurrentBag<Dictionary<string, int>>();
        Parallel.ForEach(
            Partitioner.Create(0, texts.Count, Math.Max(1, texts.Count / 64)),
            new ParallelOptions { CancellationToken = cancel },
            () => new Dictionary<string, int>(),
            (range, _, counts) =>
            {
                long chars = 0;
                for (int i = range.Item1; i < range.Item2; i++)
                {
                    foreach (var segment in SpecialSplitter.Split(texts[i]))
                    {
                        foreach (var match in PreTokenizerPatterns.Cl100k.EnumerateMatches(segment))
                        {
                            var word = segment.Substring(match.Index, match.Length);
                            counts[word] = counts.GetValueOrDefault(word) + 1;
                        }
                    }
                    chars += texts[i].Length;
                }
                progress?.Report(new("pre-tokenizing", Interlocked.Add(ref doneChars, chars), totalChars));
                return counts;
            },
            partials.Add);

        var total = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var part in partials)
            foreach (var (word, count) in part)
                total[word] = total.GetValueOrDefault(word) + count;
        return total;
    }

    /// <summary>The words as symbol sequences with the incremental pair statistics over them.</summary>
    sealed class PairIndex
    {
        readonly int[][] words;
        readonly int[] freq;
        readonly Dictionary<long, long> pairCounts = [];
        readonly Dictionary<long, HashSet<int>> pairWords = [];
        readonly PriorityQueue<long, (long NegCount, long Pair)> heap = new();

        public long TotalBytes { get; }

        public PairIndex(Dictionary<string, int> wordCounts)
        {
            // Ordinal order makes word indices, and so everything below, independent of hashing.
            var ordered = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
            words = new int[ordered.Length][];
            freq = new int[ordered.Length];
            for (int w = 0; w < ordered.Length; w++)
            {
                words[w] = Encoding.UTF8.GetBytes(ordered[w].Key).Select(b => (int)b).ToArray();
                freq[w] = ordered[w].Value;
                TotalBytes += (long)words[w].Length * freq[w];
                for (int i = 0; i + 1 < words[w].Length; i++) AddPair(Key(words[w][i], words[w][i + 1]), freq[w], w);
            }
            foreach (var (pair, count) in pairCounts) heap.Enqueue(pair, (-count, pair));
        }

        public long TotalTokens()
        {
            long tokens = 0;
            for (int w = 0; w < words.Length; w++) tokens += (long)words[w].Length * freq[w];
            return tokens;
        }

        public bool TryPopBestPair(out (int Left, int Right) pair)
        {
            while (heap.TryDequeue(out var key, out var priority))
            {
                if (pairCounts.TryGetValue(key, out var count) && count == -priority.NegCount)
                {
                    pair = ((int)(key >> 32), (int)(key & 0xFFFFFFFF));
                    return true;
                }
            }
            pair = default;
            return false;
        }

        /// <summary>Replaces every occurrence of the pair by <paramref name="newId"/> in the words that contain it and updates the counts.</summary>
        public void Merge((int Left, int Right) pair, int newId)
        {
            var mergedKey = Key(pair.Left, pair.Right);
            var deltas = new Dictionary<long, long>();
            foreach (var w in pairWords[mergedKey])
            {
                var old = words[w];
                var merged = MergeWord(old, pair, newId);
                if (merged.Length == old.Length) continue; // stale entry: an earlier merge already consumed the pair here
                for (int i = 0; i + 1 < old.Length; i++)
                {
                    var key = Key(old[i], old[i + 1]);
                    deltas[key] = deltas.GetValueOrDefault(key) - freq[w];
                }
                for (int i = 0; i + 1 < merged.Length; i++)
                {
                    var key = Key(merged[i], merged[i + 1]);
                    deltas[key] = deltas.GetValueOrDefault(key) + freq[w];
                    if (merged[i] == newId || merged[i + 1] == newId) WordsOf(key).Add(w);
                }
                words[w] = merged;
            }
            pairCounts.Remove(mergedKey);
            pairWords.Remove(mergedKey);
            foreach (var (key, delta) in deltas)
            {
                if (delta == 0 || key == mergedKey) continue;
                var count = pairCounts.GetValueOrDefault(key) + delta;
                if (count <= 0)
                {
                    pairCounts.Remove(key);
                    pairWords.Remove(key);
                }
                else
                {
                    pairCounts[key] = count;
                    heap.Enqueue(key, (-count, key));
                }
            }
        }

        static int[] MergeWord(int[] symbols, (int Left, int Right) pair, int newId)
        {
            var result = new List<int>(symbols.Length);
            for (int i = 0; i < symbols.Length; i++)
            {
                if (i + 1 < symbols.Length && symbols[i] == pair.Left && symbols[i + 1] == pair.Right)
                {
                    result.Add(newId);
                    i++;
                }
                else result.Add(symbols[i]);
            }
            return result.Count == symbols.Length ? symbols : [.. result];
        }

        void AddPair(long key, int count, int word)
        {
            pairCounts[key] = pairCounts.GetValueOrDefault(key) + count;
            WordsOf(key).Add(word);
        }

        HashSet<int> WordsOf(long key)
        {
            if (!pairWords.TryGetValue(key, out var set)) pairWords[key] = set = [];
            return set;
        }

        static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    }
}
