namespace Gpt4Sharp.Curriculum.Bilingual;

/// <summary>
/// The project's small lexicon for classical-style quatrains: rhyme groups (characters
/// whose modern Mandarin finals rhyme, grouped as in the traditional "thirteen rhymes"),
/// two-character images, verbs and modifiers. A line is image + [image] + verb + modifier
/// + rhyme character, which reads like "春风吹远山".
/// </summary>
public static class PoemLexicon
{
    public static readonly IReadOnlyDictionary<string, string> RhymeGroups = new Dictionary<string, string>
    {
        ["ang"] = "光霜乡长香阳江窗茫凉苍黄",
        ["an"] = "山间还闲湾天年烟船眠边前泉",
        ["ong"] = "风中红东空钟松浓峰鸿",
        ["ou"] = "秋流楼舟愁头游柔收",
        ["i"] = "溪衣低西泥啼稀依",
        ["ai"] = "来开台苔怀排",
    };

    public static readonly string[] Images = ["春风", "明月", "青山", "白云", "江水", "孤舟", "落花", "归雁", "长河", "夜雨", "故人", "清泉", "寒梅", "细柳", "斜阳", "流水", "秋叶", "小桥", "古寺", "渔火", "晚钟", "飞鸟", "新竹", "行人"];
    public static readonly string Verbs = "吹照入映落绕过满向送隔望";
    public static readonly string Modifiers = "远寒孤千万半一清空故";

    static readonly Dictionary<char, string> GroupOf = RhymeGroups
        .SelectMany(g => g.Value.Select(c => (c, g.Key)))
        .ToDictionary(p => p.c, p => p.Key);

    /// <summary>The rhyme group of a character, or null when the lexicon does not know it.</summary>
    public static string? RhymeOf(char c) => GroupOf.GetValueOrDefault(c);
}
