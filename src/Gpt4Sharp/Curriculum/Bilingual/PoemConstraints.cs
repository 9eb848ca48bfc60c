using System.Text;

namespace Gpt4Sharp.Curriculum.Bilingual;

/// <summary>What a requested poem must satisfy: line count, characters per line, the rhyme of the even lines, and its opening word.</summary>
public sealed record PoemConstraints(int Lines, int CharsPerLine, string Rhyme, string Opening)
{
    static readonly char[] LineBreakers = ['\n', '，', '。', '！', '？', '；', ',', '.', '!', '?', ';'];

    /// <summary>
    /// Accepts one poem line per text line or lines ended by Chinese/Western punctuation;
    /// blank lines and an "answer:" prefix are ignored. Rejects a wrong line count, a line of
    /// the wrong length or with non-Chinese characters, an even line whose last character is
    /// not in the rhyme group (or unknown to the lexicon), a repeated rhyme character, and a
    /// first line that does not open with the required word.
    /// </summary>
    public CheckResult Check(string poem)
    {
        var lines = poem.Replace("答案：", "").Replace("答案:", "")
            .Split(LineBreakers, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Trim('“', '”', '"', ' ', '\t', '\r'))
            .Where(l => l.Length > 0)
            .ToList();
        if (lines.Count != Lines) return CheckResult.Wrong($"expected {Lines} lines, got {lines.Count}");
        var rhymes = new HashSet<char>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Any(c => !AnswerText.IsCjk(c))) return CheckResult.Wrong($"line {i + 1} has non-Chinese characters");
            if (line.Length != CharsPerLine) return CheckResult.Wrong($"line {i + 1} has {line.Length} characters, expected {CharsPerLine}");
            if (i % 2 == 0) continue;
            var last = line[^1];
            var group = PoemLexicon.RhymeOf(last);
            if (group is null) return CheckResult.Wrong($"line {i + 1} ends with {last}, which the rhyme lexicon does not list");
            if (group != Rhyme) return CheckResult.Wrong($"line {i + 1} ends with {last} ({group}), which does not rhyme with {Rhyme}");
            if (!rhymes.Add(last)) return CheckResult.Wrong($"line {i + 1} repeats the rhyme character {last}");
        }
        return lines[0].StartsWith(Opening, StringComparison.Ordinal)
            ? CheckResult.Right("all constraints hold")
            : CheckResult.Wrong($"the first line does not open with {Opening}");
    }

    /// <summary>Writes a poem meeting the constraints from the lexicon.</summary>
    public string Compose(ItemRng rng)
    {
        var rhymeChars = PoemLexicon.RhymeGroups[Rhyme].ToCharArray();
        rng.Shuffle(rhymeChars);
        var sb = new StringBuilder();
        for (var i = 0; i < Lines; i++)
        {
            var first = i == 0 ? Opening : rng.Pick(PoemLexicon.Images);
            var line = new StringBuilder(first);
            if (CharsPerLine == 7) line.Append(rng.Pick(PoemLexicon.Images.Where(w => w != first).ToArray()));
            line.Append(PoemLexicon.Verbs[rng.Next(PoemLexicon.Verbs.Length)]);
            line.Append(PoemLexicon.Modifiers[rng.Next(PoemLexicon.Modifiers.Length)]);
            // Odd lines end off-group so only the even lines carry the rhyme.
            var end = i % 2 == 1 ? rhymeChars[i / 2 % rhymeChars.Length] : OffRhyme(rng);
            line.Append(end);
            sb.Append(line).Append(i % 2 == 0 ? '，' : '。');
            if (i < Lines - 1) sb.Append('\n');
        }
        return sb.ToString();
    }

    char OffRhyme(ItemRng rng)
    {
        var others = PoemLexicon.RhymeGroups.Where(g => g.Key != Rhyme).SelectMany(g => g.Value).ToArray();
        return others[rng.Next(others.Length)];
    }
}
