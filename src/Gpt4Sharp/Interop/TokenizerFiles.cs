using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Interop;

/// <summary>
/// A Gpt4Sharp byte-level BPE tokenizer as the files other engines read: its own vocab.json and
/// merges.txt (GPT-2 layout), Hugging Face <c>tokenizers</c>' tokenizer.json (ByteLevel BPE behind
/// its pre-tokenizer regex, special tokens as added tokens) and tokenizer_config.json with a Jinja
/// chat_template that renders exactly what <see cref="ChatTemplate"/> encodes.
/// </summary>
public sealed class TokenizerFiles
{
    /// <summary>Renders <c>&lt;|role|&gt;content&lt;|end|&gt;</c> per message, then <c>&lt;|assistant|&gt;</c> for a generation prompt; other roles are refused, as in <see cref="ChatTemplate"/>.</summary>
    public const string JinjaChatTemplate =
        "{% for message in messages %}" +
        "{% if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('Chat role ' + message['role'] + ' is unknown; use system, user or assistant.') }}{% endif %}" +
        "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}" +
        "{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

    /// <summary>Tokens in id order (vocab.json spelling; special tokens as their text), one entry per id up to the largest.</summary>
    public IReadOnlyList<string?> Tokens { get; }
    /// <summary>Merges in rank order, "left right" in byte-level spelling.</summary>
    public IReadOnlyList<string> Merges { get; }
    public IReadOnlyDictionary<string, int> Specials { get; }
    /// <summary>The regex that splits text before BPE (GPT-2's for GPT-2 tokenizers, cl100k's for ours).</summary>
    public Regex PreTokenizer { get; }

    TokenizerFiles(IReadOnlyList<string?> tokens, IReadOnlyList<string> merges, IReadOnlyDictionary<string, int> specials, Regex preTokenizer)
    {
        Tokens = tokens;
        Merges = merges;
        Specials = specials;
        PreTokenizer = preTokenizer;
    }

    /// <summary>Reads the files behind a directory tokenizer; tiktoken encodings are refused (their merges are not shipped).</summary>
    public static TokenizerFiles From(ITokenizer tokenizer)
    {
        if (Tokenizers.TiktokenEncodings.Contains(tokenizer.Name))
            throw new UserError($"The model uses the {tokenizer.Name} encoding, whose merge list is not shipped with Microsoft.ML.Tokenizers; export a model trained with a tokenizer from 'gpt4sharp tokenizer train'.");
        return Read(tokenizer.Name);
    }

    /// <summary>Reads vocab.json, merges.txt and the special tokens (special_tokens.json, else tokenizer.json's added tokens, else the project's names found in vocab.json).</summary>
    public static TokenizerFiles Read(string directory)
    {
        var vocabPath = Path.Combine(directory, BpeModel.VocabFile);
        var mergesPath = Path.Combine(directory, BpeModel.MergesFile);
        if (!File.Exists(vocabPath) || !File.Exists(mergesPath))
            throw new UserError($"{directory} has no vocab.json and merges.txt; give a directory with a byte-level BPE tokenizer in the GPT-2 layout.");
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new UserError($"{vocabPath} is not a JSON object of token -> id ({e.Message}); use an intact tokenizer.", e); }
        var merges = File.ReadAllLines(mergesPath).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();

        var specials = ReadSpecials(directory, vocab);
        int size = vocab.Values.Concat(specials.Values).DefaultIfEmpty(-1).Max() + 1;
        var tokens = new string?[size];
        foreach (var (token, id) in vocab.Concat(specials))
        {
            if (id < 0) throw new UserError($"{vocabPath} gives '{token}' the negative id {id}; use an intact tokenizer.");
            tokens[id] = token;
        }
        return new TokenizerFiles(tokens, merges, specials, Tokenizers.PreTokenizerOf(directory));
    }

    static Dictionary<string, int> ReadSpecials(string directory, Dictionary<string, int> vocab)
    {
        var specialsPath = Path.Combine(directory, BpeModel.SpecialTokensFile);
        if (File.Exists(specialsPath))
            return JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(specialsPath)) ?? [];
        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson) && JsonNode.Parse(File.ReadAllText(tokenizerJson))?["added_tokens"] is JsonArray added)
            return added.Where(t => t?["special"]?.GetValue<bool>() ?? false)
                .ToDictionary(t => t!["content"]!.GetValue<string>(), t => t!["id"]!.GetValue<int>());
        var known = SpecialTokens.All.ToHashSet();
        return vocab.Where(kv => known.Contains(kv.Key)).ToDictionary();
    }

    public int? SpecialId(string token) => Specials.TryGetValue(token, out var id) ? id : null;

    /// <summary>
    /// These files with each of <paramref name="names"/> they lack made a special token: a vocabulary
    /// entry of that spelling if there is one, else a new id after the last (so a stock GPT-2
    /// tokenizer gains the chat tokens that <see cref="ChatTemplate"/> needs).
    /// </summary>
    public TokenizerFiles WithSpecials(IEnumerable<string> names)
    {
        var tokens = Tokens.ToList();
        var specials = new Dictionary<string, int>(Specials);
        foreach (var name in names.Where(n => !specials.ContainsKey(n)))
        {
            int existing = tokens.IndexOf(name);
            specials[name] = existing >= 0 ? existing : tokens.Count;
            if (existing < 0) tokens.Add(name);
        }
        return new TokenizerFiles(tokens, Merges, specials, PreTokenizer);
    }

    /// <summary>Writes vocab.json, merges.txt, special_tokens.json, tokenizer.json and tokenizer_config.json into <paramref name="directory"/>.</summary>
    public void WriteHuggingFace(string directory, int contextLength)
    {
        var vocab = new JsonObject();
        for (int id = 0; id < Tokens.Count; id++)
            if (Tokens[id] is { } t && !Specials.ContainsKey(t)) vocab[t] = id;
        var specials = new JsonObject();
        foreach (var (token, id) in Specials.OrderBy(kv => kv.Value)) specials[token] = id;

        var fullVocab = vocab.DeepClone().AsObject();
        foreach (var (token, id) in Specials.OrderBy(kv => kv.Value)) fullVocab[token] = id;
        WriteJson(Path.Combine(directory, BpeModel.VocabFile), fullVocab);
        WriteJson(Path.Combine(directory, BpeModel.SpecialTokensFile), specials);
        AtomicFile.WriteAllText(Path.Combine(directory, BpeModel.MergesFile), "#version: 0.2\n" + string.Concat(Merges.Select(m => m + "\n")));

        var added = new JsonArray([.. Specials.OrderBy(kv => kv.Value).Select(kv => (JsonNode)new JsonObject
        {
            ["id"] = kv.Value, ["content"] = kv.Key, ["single_word"] = false, ["lstrip"] = false,
            ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        })]);
        var tokenizerJson = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = PreTokenizerPatterns.ToHuggingFace(PreTokenizer),
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. Merges.Select(m => (JsonNode)m)]),
            },
        };
        WriteJson(Path.Combine(directory, "tokenizer.json"), tokenizerJson);

        var decoderTable = new JsonObject();
        foreach (var entry in added) decoderTable[entry!["id"]!.ToString()] = entry.DeepClone();
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["model_max_length"] = contextLength,
            ["clean_up_tokenization_spaces"] = false,
            ["add_bos_token"] = false,
            ["add_eos_token"] = false,
            ["added_tokens_decoder"] = decoderTable,
            ["chat_template"] = JinjaChatTemplate,
        };
        if (SpecialId(SpecialTokens.EndOfText) is not null) config["bos_token"] = SpecialTokens.EndOfText;
        if (SpecialId(SpecialTokens.EndOfTurn) is not null) config["eos_token"] = SpecialTokens.EndOfTurn;
        if (SpecialId(SpecialTokens.Pad) is not null) config["pad_token"] = SpecialTokens.Pad;
        WriteJson(Path.Combine(directory, "tokenizer_config.json"), config);
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static void WriteJson(string path, JsonNode node) => AtomicFile.WriteAllText(path, node.ToJsonString(Indented));
}
