using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Bilingual;

namespace Gpt4Sharp.Tests.Curriculum;

public class BilingualTests
{
    static readonly BilingualFamily Bilingual = new();
    static readonly PoemConstraints Quatrain = new(4, 5, "an", "春风");
    const string Good = "春风吹远山，\n明月照孤泉。\n江水过千红，\n白云送一船。";

    [Fact]
    public void Poem_checker_accepts_a_valid_poem_in_several_layouts()
    {
        Assert.True(Quatrain.Check(Good).Correct, Quatrain.Check(Good).Reason);
        Assert.True(Quatrain.Check("春风吹远山，明月照孤泉。江水过千红，白云送一船。").Correct);
        Assert.True(Quatrain.Check("答案：\n春风吹远山\n明月照孤泉\n\n江水过千红\n白云送一船\n").Correct);
    }

    [Theory]
    [InlineData("春风吹远山，\n明月照孤泉。\n江水过千红，", "expected 4 lines, got 3")]
    [InlineData("春风吹远山，\n明月照孤泉。\n江水过千红，\n白云送一船。\n夜雨入寒山。", "expected 4 lines, got 5")]
    [InlineData("春风吹远山，\n明月照孤清泉。\n江水过千红，\n白云送一船。", "line 2 has 6 characters")]
    [InlineData("春风吹远山，\n明月照孤光。\n江水过千红，\n白云送一船。", "does not rhyme with an")]
    [InlineData("春风吹远山，\n明月照孤花。\n江水过千红，\n白云送一船。", "does not list")]
    [InlineData("春风吹远山，\n明月照孤船。\n江水过千红，\n白云送一船。", "repeats the rhyme character")]
    [InlineData("春风吹远山，\n明月照孤泉。\nriver flows，\n白云送一船。", "line 3 has non-Chinese characters")]
    [InlineData("夜雨吹远山，\n明月照孤泉。\n江水过千红，\n白云送一船。", "does not open with 春风")]
    public void Poem_checker_rejects_each_broken_constraint(string poem, string reason)
    {
        var verdict = Quatrain.Check(poem);
        Assert.False(verdict.Correct);
        Assert.Contains(reason, verdict.Reason);
    }

    [Fact]
    public void Composed_poems_meet_their_constraints_for_every_shape_and_rhyme()
    {
        var rng = new ItemRng(9);
        foreach (var lines in new[] { 4, 8 })
            foreach (var chars in new[] { 5, 7 })
                foreach (var rhyme in PoemLexicon.RhymeGroups.Keys)
                {
                    var c = new PoemConstraints(lines, chars, rhyme, "明月");
                    var verdict = c.Check(c.Compose(rng));
                    Assert.True(verdict.Correct, verdict.Reason);
                }
    }

    [Fact]
    public void Translation_checker_catches_wrong_language_and_wrong_words()
    {
        var items = Bilingual.Generate(2, Split.Train, 400).ToList();
        var toZh = items.First(i => i.Kind == "translate_en_zh");
        var toEn = items.First(i => i.Kind == "translate_zh_en");
        Assert.True(Bilingual.Check(toZh, " " + toZh.Answer.TrimEnd('。')).Correct);
        Assert.True(Bilingual.Check(toEn, toEn.Answer.ToLowerInvariant().TrimEnd('.')).Correct);
        Assert.Equal("wrong language: expected Chinese", Bilingual.Check(toZh, (string)toZh.Extra!["en"]!).Reason);
        Assert.Equal("wrong language: expected English", Bilingual.Check(toEn, (string)toEn.Extra!["zh"]!).Reason);
        Assert.False(Bilingual.Check(toZh, toZh.Answer.Replace("我的", "你的").Replace("老师", "学生") + "很好").Correct);
        Assert.False(Bilingual.Check(toEn, toEn.Answer.Replace("my", "your").Replace("the", "a") + " today").Correct);
    }

    [Fact]
    public void Chinese_questions_follow_the_other_families_shapes()
    {
        var items = Bilingual.Generate(3, Split.Train, 400).ToList();
        var sum = items.First(i => i.Kind == "zh_arithmetic");
        Assert.Contains("答案：", sum.Response);
        Assert.True(Bilingual.Check(sum, $"答案：{sum.Answer}个").Correct);
        Assert.False(Bilingual.Check(sum, $"答案：{long.Parse(sum.Answer) + 2}").Correct);
        Assert.False(Bilingual.Check(sum, sum.Answer).Correct);
        var world = items.First(i => i.Kind == "zh_knowledge");
        Assert.True(Bilingual.Check(world, world.Response).Correct);
        Assert.False(Bilingual.Check(world, "我不知道。").Correct);
        Assert.Equal(["en", "zh"], items.Select(i => i.Language).Distinct().Order());
    }
}
