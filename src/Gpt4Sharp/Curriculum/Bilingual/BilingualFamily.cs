using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gpt4Sharp.Curriculum.Knowledge;

namespace Gpt4Sharp.Curriculum.Bilingual;

/// <summary>
/// English/Chinese sentence pairs for translation both ways, Chinese word problems and
/// fictional-world questions in the shapes of the arithmetic and knowledge families, and
/// classical-style poems under line-count, line-length, rhyme and opening-word constraints.
/// </summary>
public sealed class BilingualFamily : CurriculumFamily
{
    public override string Name => "bilingual";
    public override string Description => "English/Chinese translation pairs, Chinese word problems and world questions, and constrained classical-style poems.";
    public override double EvalFraction => 0.15;

    static readonly (string En, string Zh)[] Times = [("Today", "今天"), ("Every morning", "每天早上"), ("On Sunday", "星期天"), ("In the evening", "晚上"), ("Now", "现在")];
    static readonly (string En, string Zh)[] Subjects = [("my brother", "我的哥哥"), ("the teacher", "老师"), ("my friend", "我的朋友"), ("the old man", "那位老人"), ("the student", "学生"), ("my mother", "我的妈妈"), ("the doctor", "医生"), ("my sister", "我的妹妹")];
    static readonly (string En, string Zh)[] Places = [("at school", "在学校"), ("in the park", "在公园"), ("at home", "在家"), ("in the library", "在图书馆"), ("by the river", "在河边")];
    static readonly (string En, string Zh)[] Actions = [("reads a book", "看书"), ("drinks tea", "喝茶"), ("eats an apple", "吃苹果"), ("writes a letter", "写信"), ("sings a song", "唱歌"), ("draws a picture", "画画"), ("learns Chinese", "学中文"), ("listens to music", "听音乐")];
    static readonly (string En, string Measure, string Zh)[] Nouns = [("apples", "个", "苹果"), ("books", "本", "书"), ("cats", "只", "猫"), ("pens", "支", "笔"), ("cups", "个", "杯子")];
    static readonly (string En, string Zh)[] Adjectives = [("red", "红"), ("big", "大"), ("new", "新"), ("small", "小")];
    static readonly string[] NumbersEn = ["", "", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    const string NumbersZh = "  两三四五六七八九";

    static readonly string[] ZhNames = ["小明", "小红", "小华", "李雷", "王芳", "张伟"];
    static readonly string[] ZhObjects = ["苹果", "铅笔", "邮票", "贝壳", "饼干"];

    protected override CurriculumItem Propose(ItemRng rng) => rng.Next(10) switch
    {
        < 4 => Translation(rng),
        < 6 => ZhArithmetic(rng),
        < 8 => ZhKnowledge(rng),
        _ => Poem(rng),
    };

    static CurriculumItem Translation(ItemRng rng)
    {
        string en, zh;
        if (rng.Chance(0.6))
        {
            var (t, s, p, a) = (rng.Pick(Times), rng.Pick(Subjects), rng.Pick(Places), rng.Pick(Actions));
            en = $"{t.En} {s.En} {a.En} {p.En}.";
            zh = $"{t.Zh}{s.Zh}{p.Zh}{a.Zh}。";
        }
        else
        {
            var (s, n, adj, noun) = (rng.Pick(Subjects), rng.Range(2, 9), rng.Pick(Adjectives), rng.Pick(Nouns));
            en = $"{s.En} has {NumbersEn[n]} {adj.En} {noun.En}.";
            zh = $"{s.Zh}有{NumbersZh[n]}{noun.Measure}{adj.Zh}{noun.Zh}。";
        }
        en = char.ToUpperInvariant(en[0]) + en[1..];
        var toChinese = rng.Chance(0.5);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = toChinese ? "translate_en_zh" : "translate_zh_en",
            Language = toChinese ? "zh" : "en",
            Prompt = toChinese ? $"Translate into Chinese: {en}" : $"把这句话翻译成英文：{zh}",
            Answer = toChinese ? zh : en, Response = toChinese ? zh : en,
            // Both directions of one pair are one problem, so they share a split.
            Canonical = $"pair|{en}",
            Extra = new JsonObject { ["en"] = en, ["zh"] = zh },
        };
    }

    static CurriculumItem ZhArithmetic(ItemRng rng)
    {
        var name = rng.Pick(ZhNames);
        var obj = rng.Pick(ZhObjects);
        var steps = rng.Range(1, 4);
        var current = rng.Range(2, 30);
        var story = new StringBuilder($"{name}有{current}个{obj}。");
        var rationale = new StringBuilder($"{name}一开始有{current}个{obj}。");
        var canonical = new StringBuilder($"{obj}|{current}");
        for (var i = 0; i < steps; i++)
        {
            var op = rng.Next(3);
            if (op == 1 && current < 2) op = 0;
            if (op == 2 && current > 300) op = 1;
            var k = op switch { 0 => rng.Range(1, 30), 1 => rng.Range(1, current - 1), _ => rng.Range(2, 3) };
            var next = op switch { 0 => current + k, 1 => current - k, _ => current * k };
            story.Append(op switch
            {
                0 => $"然后{name}又买了{k}个{obj}。",
                1 => $"然后{name}送给朋友{k}个{obj}。",
                _ => $"然后{obj}的数量变成了原来的{k}倍。",
            });
            rationale.Append(CultureInfo.InvariantCulture, $"\n第{i + 1}步：{current} {"+-×"[op]} {k} = {next}。");
            canonical.Append(CultureInfo.InvariantCulture, $"|{op}{k}");
            current = next;
        }
        story.Append(CultureInfo.InvariantCulture, $"{name}现在有多少个{obj}？");
        var answer = current.ToString(CultureInfo.InvariantCulture);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "zh_arithmetic", Language = "zh", Difficulty = steps,
            Prompt = story.ToString(), Answer = answer, Rationale = rationale.ToString(),
            Response = $"{rationale}\n答案：{answer}",
            Canonical = $"zh_arithmetic|{canonical}",
            Extra = new JsonObject { ["object"] = obj },
        };
    }

    static CurriculumItem ZhKnowledge(ItemRng rng)
    {
        var town = rng.Pick(FictionalWorld.Instance.Towns);
        var country = rng.Chance(0.5);
        var value = town.Facts[country ? "country" : "river"];
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "zh_knowledge", Language = "zh",
            Prompt = country ? $"{town.Name}在哪个国家？" : $"哪条河流经{town.Name}？",
            Answer = value,
            Response = country ? $"{town.Name}在{value}。" : $"{value}河流经{town.Name}。",
            Canonical = $"zh_knowledge|{town.Name}|{(country ? "country" : "river")}",
            Extra = new JsonObject { ["entity"] = town.Name, ["attribute"] = country ? "country" : "river", ["domain"] = country ? "country" : "river" },
        };
    }

    static CurriculumItem Poem(ItemRng rng)
    {
        var constraints = new PoemConstraints(rng.Chance(0.7) ? 4 : 8, rng.Chance(0.5) ? 5 : 7,
            rng.Pick(PoemLexicon.RhymeGroups.Keys.ToArray()), rng.Pick(PoemLexicon.Images));
        var examples = string.Join("、", PoemLexicon.RhymeGroups[constraints.Rhyme].Take(3));
        var prompt = $"写一首诗：共{constraints.Lines}行，每行{constraints.CharsPerLine}个字，偶数行押“{constraints.Rhyme}”韵（如{examples}），第一行以“{constraints.Opening}”开头。";
        var poem = constraints.Compose(rng);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "poem", Language = "zh", Difficulty = constraints.Lines / 4 + (constraints.CharsPerLine == 7 ? 1 : 0),
            Prompt = prompt, Answer = poem, Response = poem,
            Canonical = $"poem|{constraints.Lines}|{constraints.CharsPerLine}|{constraints.Rhyme}|{constraints.Opening}",
            Extra = new JsonObject
            {
                ["lines"] = constraints.Lines, ["chars_per_line"] = constraints.CharsPerLine,
                ["rhyme"] = constraints.Rhyme, ["opening"] = constraints.Opening,
            },
        };
    }

    public static PoemConstraints ConstraintsOf(CurriculumItem item) => new(
        (int)item.Extra!["lines"]!, (int)item.Extra["chars_per_line"]!, (string)item.Extra["rhyme"]!, (string)item.Extra["opening"]!);

    public override CheckResult Check(CurriculumItem item, string modelAnswer) => item.Kind switch
    {
        "poem" => ConstraintsOf(item).Check(modelAnswer),
        "zh_arithmetic" => AnswerText.CheckInteger(modelAnswer, long.Parse(item.Answer, CultureInfo.InvariantCulture), "个", "个" + (string)item.Extra!["object"]!),
        "zh_knowledge" => KnowledgeFamily.CheckFact(item, modelAnswer),
        _ => CheckTranslation(item, modelAnswer),
    };

    /// <summary>
    /// Exact match after normalising case, spaces and punctuation (an "answer:" line is used
    /// when present); a reply in the wrong script is reported as such.
    /// </summary>
    static CheckResult CheckTranslation(CurriculumItem item, string modelAnswer)
    {
        var lines = AnswerText.AnswerLines(modelAnswer);
        var reply = lines.Count > 0 ? lines[^1] : modelAnswer;
        if (string.IsNullOrWhiteSpace(reply)) return CheckResult.Wrong("empty reply");
        var toChinese = item.Kind == "translate_en_zh";
        if (toChinese && (AnswerText.CountCjk(reply) == 0 || AnswerText.CountLatinLetters(reply) > 0))
            return CheckResult.Wrong("wrong language: expected Chinese");
        if (!toChinese && AnswerText.CountCjk(reply) > 0)
            return CheckResult.Wrong("wrong language: expected English");
        return Comparable(reply) == Comparable(item.Answer) ? CheckResult.Right() : CheckResult.Wrong($"expected \"{item.Answer}\"");
    }

    static string Comparable(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c)) sb.Append(c);
            else if (char.IsWhiteSpace(c) && sb.Length > 0 && sb[^1] != ' ') sb.Append(' ');
        }
        return sb.ToString().Trim();
    }
}
