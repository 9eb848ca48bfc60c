using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Gpt4Sharp.Text;

/// <summary>Opens any tokenizer the project uses by name or directory.</summary>
public static class Tokenizers
{
    /// <summary>OpenAI encodings shipped in the Microsoft.ML.Tokenizers data packages: plain pre-tokenizer and data assembly.</summary>
    static readonly Dictionary<string, (Regex Pattern, string DataAssembly)> Tiktoken = new()
    {
        ["r50k_base"] = (PreTokenizerPatterns.R50k, "Microsoft.ML.Tokenizers.Data.R50kBase"),
        ["cl100k_base"] = (PreTokenizerPatterns.Cl100k, "Microsoft.ML.Tokenizers.Data.Cl100kBase"),
        ["o200k_base"] = (PreTokenizerPatterns.O200k, "Microsoft.ML.Tokenizers.Data.O200kBase"),
    };

    /// <summary>Tiktoken encodings are immutable and take ~0.2 s to read, so each is built once per process.</summary>
    static readonly ConcurrentDictionary<string, Lazy<ITokenizer>> LoadedTiktoken = new();

    /// <summary>The encoding names <see cref="Load"/> accepts besides directories.</summary>
    public static IReadOnlyCollection<string> TiktokenEncodings => Tiktoken.Keys;

    /// <summary>
    /// "r50k_base", "cl100k_base" or "o200k_base" (GPT-2/3, GPT-4, GPT-4o), else a directory
    /// written by <see cref="BpeModel.Save"/> (or any GPT-2-layout vocab.json + merges.txt).
    /// Throws <see cref="UserError"/> when the directory or its files are missing or unreadable.
    /// </summary>
    public static ITokenizer Load(string nameOrDirectory)
    {
        if (Tiktoken.TryGetValue(nameOrDirectory, out var encoding))
            return LoadedTiktoken.GetOrAdd(nameOrDirectory, name => new(() => LoadTiktoken(name, encoding.Pattern, encoding.DataAssembly))).Value;
        if (!Directory.Exists(nameOrDirectory))
            throw new UserError($"Tokenizer '{nameOrDirectory}' is neither {string.Join(", ", Tiktoken.Keys)} nor an existing directory; train one with 'gpt4sharp tokenizer train'.");
        return LoadBpe(nameOrDirectory);
    }

    static LibraryTokenizer LoadTiktoken(string encoding, Regex plainPattern, string dataAssembly)
    {
        var tiktoken = TiktokenTokenizer.CreateForEncoding(encoding);
        var specials = tiktoken.SpecialTokens ?? new Dictionary<string, int>();
        var ranks = ReadTiktokenRanks(encoding, dataAssembly);
        int vocabSize = Math.Max(ranks.Keys.Max(), specials.Values.DefaultIfEmpty(0).Max()) + 1;
        return new LibraryTokenizer(encoding, tiktoken, plainPattern, specials, ranks.GetValueOrDefault, vocabSize);
    }

    /// <summary>
    /// Id -> bytes of a tiktoken encoding. TiktokenTokenizer keeps this table internal (it only
    /// decodes whole strings, lossy for tokens that split a UTF-8 character), so it is read from
    /// the data package's embedded ranks file: deflated, a "Capacity: N" line, then one base64
    /// token per line in rank order (or tiktoken's "base64 rank" lines, also accepted).
    /// </summary>
    static Dictionary<int, byte[]> ReadTiktokenRanks(string encoding, string dataAssembly)
    {
        using var raw = Assembly.Load(dataAssembly).GetManifestResourceStream($"{encoding}.tiktoken.deflate")
            ?? throw new InvalidOperationException($"{dataAssembly} has no ranks file for {encoding}.");
        using var reader = new StreamReader(new DeflateStream(raw, CompressionMode.Decompress));
        var ranks = new Dictionary<int, byte[]>();
        int rank = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            int space = line.IndexOf(' ');
            if (space > 0) rank = int.Parse(line.AsSpan(space + 1), CultureInfo.InvariantCulture);
            ranks[rank++] = Convert.FromBase64String(space > 0 ? line[..space] : line);
        }
        return ranks;
    }

    /// <summary>
    /// The regex that splits text before BPE in a tokenizer directory: what its tokenizer.json
    /// declares when that is a known pattern; GPT-2's for the bare GPT-2 layout (vocab.json and
    /// merges.txt only, as GPT-2 checkpoints ship them); otherwise cl100k's, which our trainer uses.
    /// </summary>
    public static Regex PreTokenizerOf(string directory)
    {
        var huggingFace = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(huggingFace))
        {
            JsonNode? declared;
            try { declared = JsonNode.Parse(File.ReadAllText(huggingFace))?["pre_tokenizer"]; }
            catch (JsonException e) { throw new UserError($"{huggingFace} is not valid JSON ({e.Message}); use an intact tokenizer.", e); }
            return PreTokenizerPatterns.FromHuggingFace(declared) ?? PreTokenizerPatterns.Cl100k;
        }
        return File.Exists(Path.Combine(directory, BpeModel.SpecialTokensFile)) ? PreTokenizerPatterns.Cl100k : PreTokenizerPatterns.R50k;
    }

    /// <summary>
    /// Our byte-level BPE goes through <see cref="BpeTokenizer"/> with ByteLevel on and the
    /// directory's pre-tokenizer regex (<see cref="PreTokenizerOf"/>). It applies merges by their rank in merges.txt, which is
    /// exactly how the trainer built the vocabulary. (CodeGenTokenizer reads the same files but
    /// hard-wires GPT-2's pre-tokenizer; TiktokenTokenizer ranks merges by the merged token's id
    /// instead of by merge, which can pick a different split for tokens reachable two ways.)
    /// </summary>
    static LibraryTokenizer LoadBpe(string directory)
    {
        var vocabPath = Path.Combine(directory, BpeModel.VocabFile);
        var mergesPath = Path.Combine(directory, BpeModel.MergesFile);
        foreach (var required in new[] { vocabPath, mergesPath })
            if (!File.Exists(required))
                throw new UserError($"Tokenizer directory '{directory}' has no {Path.GetFileName(required)}; train one there with 'gpt4sharp tokenizer train --out {directory}'.");
        try
        {
            var options = new BpeOptions(vocabPath, mergesPath) { ByteLevel = true };
            var specials = ReadSpecialTokens(directory, options.Vocabulary!);
            options.SpecialTokens = specials;
            var pattern = PreTokenizerOf(directory);
            options.PreTokenizer = new RegexPreTokenizer(pattern, specials);
            var bpe = BpeTokenizer.Create(options);

            var bytesById = new Dictionary<int, byte[]>();
            foreach (var (token, id) in bpe.Vocabulary)
            {
                if (specials.ContainsKey(token)) continue;
                bytesById[id] = ByteLevel.Decode(token) ?? throw new InvalidDataException($"token '{token}' is not byte-level");
            }
            int vocabSize = bpe.Vocabulary.Values.Concat(specials.Values).Max() + 1;
            return new LibraryTokenizer(Path.GetFullPath(directory), bpe, pattern, specials,
                id => bytesById.GetValueOrDefault(id), vocabSize);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or InvalidDataException or FormatException or ArgumentException or KeyNotFoundException)
        {
            throw new UserError($"Tokenizer directory '{directory}' holds a corrupt byte-level BPE tokenizer ({e.Message.TrimEnd('.')}); retrain it with 'gpt4sharp tokenizer train'.", e);
        }
    }

    /// <summary>special_tokens.json when present; otherwise those of <see cref="SpecialTokens.All"/> that vocab.json lists (GPT-2 directories).</summary>
    static Dictionary<string, int> ReadSpecialTokens(string directory, IEnumerable<KeyValuePair<string, int>> vocabulary)
    {
        var path = Path.Combine(directory, BpeModel.SpecialTokensFile);
        if (File.Exists(path))
            return JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{BpeModel.SpecialTokensFile} is null");
        var known = SpecialTokens.All.ToHashSet();
        return vocabulary.Where(kv => known.Contains(kv.Key)).ToDictionary();
    }
}
