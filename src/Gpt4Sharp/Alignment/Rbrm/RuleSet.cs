using System.Text.RegularExpressions;

namespace Gpt4Sharp.Alignment.Rbrm;

/// <summary>
/// One rubric rule group compiled: regular expressions, keywords (whole words; a trailing * makes
/// the last word a prefix; CJK keywords match as substrings because Chinese has no spaces) and
/// ordered keyword sequences. It matches when any rule fires and no exception does.
/// </summary>
public sealed class RuleSet
{
    readonly List<(string Rule, Regex Regex)> _regexes = [];
    readonly List<SequenceMatcher> _sequences = [];
    readonly List<Regex> _exceptions = [];

    public static readonly RuleSet Empty = new();

    RuleSet() { }

    internal static RuleSet Compile(RubricRules? rules, string path)
    {
        var set = new RuleSet();
        if (rules is null) return set;
        for (int i = 0; i < (rules.Patterns?.Count ?? 0); i++)
            set._regexes.Add(($"pattern /{rules.Patterns![i]}/", CompilePattern(rules.Patterns[i], $"{path}/patterns/{i}")));
        for (int i = 0; i < (rules.Keywords?.Count ?? 0); i++)
            set._regexes.Add(($"keyword \"{rules.Keywords![i]}\"", KeywordRegex(rules.Keywords[i])));
        for (int i = 0; i < (rules.Sequences?.Count ?? 0); i++)
            set._sequences.Add(new SequenceMatcher(rules.Sequences![i].Steps, rules.Sequences[i].MaxGap ?? SequenceMatcher.DefaultMaxGap));
        for (int i = 0; i < (rules.Exceptions?.Count ?? 0); i++)
            set._exceptions.Add(KeywordRegex(rules.Exceptions![i]));
        return set;
    }

    /// <summary>A description of the first rule that fires on <paramref name="text"/>, or null.</summary>
    public string? FirstMatch(string text) => FirstMatch(text, SequenceMatcher.Tokenize(text));

    public string? FirstMatch(string text, IReadOnlyList<string> tokens)
    {
        if (_exceptions.Any(e => e.IsMatch(text))) return null;
        foreach (var (rule, regex) in _regexes)
            if (regex.IsMatch(text)) return rule;
        foreach (var sequence in _sequences)
            if (sequence.Matches(tokens)) return sequence.ToString();
        return null;
    }

    /// <summary>Where the earliest regex or keyword match starts and ends (for cutting a refusal clause out).</summary>
    public Match? FirstRegexMatch(string text)
    {
        if (_exceptions.Any(e => e.IsMatch(text))) return null;
        return _regexes.Select(r => r.Regex.Match(text)).Where(m => m.Success).OrderBy(m => m.Index).FirstOrDefault();
    }

    static Regex CompilePattern(string pattern, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new UserError($"The rubric's {path} is not a valid regular expression ({e.Message.TrimEnd('.')}).");
        }
    }

    static Regex KeywordRegex(string keyword)
    {
        var prefix = keyword.EndsWith('*');
        var word = prefix ? keyword[..^1] : keyword;
        var body = Regex.Escape(word.Trim());
        // Lookarounds rather than \b so a keyword that starts or ends with punctuation still anchors.
        var pattern = SequenceMatcher.IsCjk(word)
            ? body
            : $@"(?<![\p{{L}}\p{{N}}]){body}{(prefix ? @"[\p{L}\p{N}]*" : @"(?![\p{L}\p{N}])")}";
        return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
