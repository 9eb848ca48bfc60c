using System.Diagnostics;
using System.Text;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Times BPE training: ~10 MB of seeded synthetic text (English-like words with a Zipf
/// distribution, numbers, punctuation and code-ish lines, plus one paragraph in five in
/// Chinese), 8k vocabulary. Prints seconds, MB/s and tokens per character of the result.
/// Usage: bpe [--mb N] [--vocab-size N] [--out DIR] (DIR keeps the trained tokenizer).
/// </summary>
public static class BpeTrainingBench
{
    public static int Run(string[] args)
    {
        double megabytes = double.Parse(Arg(args, "--mb") ?? "10", System.Globalization.CultureInfo.InvariantCulture);
        int vocabSize = int.Parse(Arg(args, "--vocab-size") ?? "8192");
        var output = Arg(args, "--out");

        var documents = SyntheticText.Generate((long)(megabytes * 1e6), seed: 1234);
        long bytes = documents.Sum(d => (long)Encoding.UTF8.GetByteCount(d));
        long chars = documents.Sum(d => (long)d.EnumerateRunes().Count());
        Console.WriteLine($"text: {documents.Count:N0} documents, {bytes / 1e6:F2} MB, {chars:N0} characters");

        var clock = Stopwatch.StartNew();
        double preTokenized = 0;
        var model = BpeTrainer.Train(documents, vocabSize, new StageClock(p =>
        {
            if (p.Stage == "pre-tokenizing") preTokenized = clock.Elapsed.TotalSeconds;
        }));
        double seconds = clock.Elapsed.TotalSeconds;

        Console.WriteLine($"trained {model.VocabSize:N0} ids ({model.Merges.Count:N0} merges) in {seconds:F2} s = {bytes / 1e6 / seconds:F2} MB/s");
        Console.WriteLine($"  pre-tokenizing and counting {preTokenized:F2} s, pair index and merges {seconds - preTokenized:F2} s");
        Console.WriteLine($"result: {model.BytesPerToken:F2} bytes/token, {(double)model.TrainingTokens / chars:F3} tokens/char on the training text");
        if (output is not null)
        {
            model.Save(output);
            Console.WriteLine($"saved to {Path.GetFullPath(output)}");
        }
        return 0;
    }

    sealed class StageClock(Action<BpeTrainingProgress> report) : IProgress<BpeTrainingProgress>
    {
        public void Report(BpeTrainingProgress value)
        {
            lock (this) report(value);
        }
    }

    static string? Arg(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>Seeded text with word statistics loosely like natural language, so BPE has real structure to find.</summary>
    static class SyntheticText
    {
        static readonly string[] Onsets = ["", "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "w", "st", "th", "tr", "pr", "ch", "sh", "gr"];
        static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ou", "ea", "ai", "io"];
        static readonly string[] Codas = ["", "", "n", "r", "s", "t", "l", "nd", "ng", "st", "ck", "rt"];
        static readonly string[] Suffixes = ["", "", "", "s", "ed", "ing", "ly", "tion", "er", "ment"];

        public static List<string> Generate(long targetBytes, int seed)
        {
            var random = new Random(seed);
            var english = Enumerable.Range(0, 20_000).Select(_ => EnglishWord(random)).Distinct().ToArray();
            // Han characters drawn from the first 3,000 of the CJK block, combined into 2,000 "words" of 1-4 characters.
            var chinese = Enumerable.Range(0, 2_000)
                .Select(_ => new string([.. Enumerable.Range(0, random.Next(1, 5)).Select(_ => (char)(0x4E00 + Zipf(random, 3_000)))]))
                .ToArray();

            var documents = new List<string>();
            long bytes = 0;
            while (bytes < targetBytes)
            {
                var doc = random.Next(5) == 0 ? ChineseParagraph(random, chinese) : EnglishParagraph(random, english);
                documents.Add(doc);
                bytes += Encoding.UTF8.GetByteCount(doc);
            }
            return documents;
        }

        static string EnglishWord(Random random)
        {
            var word = new StringBuilder();
            int syllables = 1 + Zipf(random, 4);
            for (int s = 0; s < syllables; s++)
                word.Append(Pick(random, Onsets)).Append(Pick(random, Vowels)).Append(Pick(random, Codas));
            return word.Append(Pick(random, Suffixes)).ToString();
        }

        static string EnglishParagraph(Random random, string[] words)
        {
            var text = new StringBuilder();
            int sentences = random.Next(3, 12);
            for (int s = 0; s < sentences; s++)
            {
                int length = random.Next(5, 25);
                for (int w = 0; w < length; w++)
                {
                    var word = words[Zipf(random, words.Length)];
                    if (w == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                    text.Append(word);
                    int roll = random.Next(100);
                    text.Append(roll switch
                    {
                        < 5 => ", ",
                        < 7 => $" {random.Next(1, 2030)} ",
                        _ => " ",
                    });
                }
                text.Length--;
                text.Append(Pick(random, [". ", ". ", "? ", "! ", "; "]));
            }
            if (random.Next(10) == 0) text.Append($"\n    x_{random.Next(100)} = f(a[{random.Next(10)}], \"{words[Zipf(random, words.Length)]}\")  # {random.Next(1000)}");
            return text.Append("\n\n").ToString();
        }

        static string ChineseParagraph(Random random, string[] words)
        {
            var text = new StringBuilder();
            int clauses = random.Next(4, 16);
            for (int c = 0; c < clauses; c++)
            {
                int length = random.Next(3, 10);
                for (int w = 0; w < length; w++) text.Append(words[Zipf(random, words.Length)]);
                if (random.Next(8) == 0) text.Append("GPT-").Append(random.Next(2, 5));
                text.Append(Pick(random, [",", ",", "。", "、", ";", "?"]));
            }
            return text.Append("\n\n").ToString();
        }

        /// <summary>An index in [0, n) with probability roughly proportional to 1/(rank+1).</summary>
        static int Zipf(Random random, int n) => Math.Min(n - 1, (int)Math.Floor(Math.Exp(random.NextDouble() * Math.Log(n + 1)) - 1));

        static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
    }
}
