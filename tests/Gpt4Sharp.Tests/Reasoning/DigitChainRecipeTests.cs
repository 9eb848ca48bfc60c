using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Arithmetic;
using Gpt4Sharp.Reasoning;

namespace Gpt4Sharp.Tests.Reasoning;

/// <summary>The digit-chains family, and the pretraining text built from the reasoning demo's default family.</summary>
public partial class DigitChainRecipeTests
{
    [GeneratedRegex(@"^(\d+) ([+-]) (\d) = (\d+)$")]
    private static partial Regex Equation();

    [Fact]
    public void Every_step_is_a_one_digit_fact_the_question_spells_out_and_the_answer_is_the_last_total()
    {
        var family = CurriculumRegistry.Get("digit-chains");
        var items = family.Generate(3, Split.Train, 400).Concat(family.Generate(3, Split.Eval, 100)).ToList();
        foreach (var item in items)
        {
            var lines = item.Rationale!.Split('\n');
            Assert.Equal(item.Difficulty, lines.Length);
            Assert.InRange(item.Difficulty, 1, DigitChainFamily.MaxSteps);
            var question = Regex.Matches(item.Prompt, @"[+-] \d").Select(m => m.Value).ToList();
            long? previous = null;
            for (int i = 0; i < lines.Length; i++)
            {
                var m = Equation().Match(lines[i]);
                Assert.True(m.Success, lines[i]);
                long a = long.Parse(m.Groups[1].Value), k = long.Parse(m.Groups[3].Value), r = long.Parse(m.Groups[4].Value);
                Assert.Equal(m.Groups[2].Value == "+" ? a + k : a - k, r);
                Assert.InRange(r, 0, DigitChainFamily.MaxTotal);
                Assert.InRange(k, 1, 9);
                if (previous is { } p) Assert.Equal(p, a);
                Assert.Equal(question[i], $"{m.Groups[2].Value} {k}");
                previous = r;
            }
            Assert.Equal(previous.ToString(), item.Answer);
        }
        // Both step kinds and the whole range of totals occur.
        Assert.Contains(items, i => i.Rationale!.Contains(" - "));
        Assert.Contains(items, i => i.Answer == "19");
        Assert.Contains(items, i => i.Answer == "0");
    }

    [Fact]
    public void Pretraining_text_teaches_worked_and_direct_replies_after_their_instructions()
    {
        var settings = new ReasoningModelSettings { CorpusDocuments = 200, Seed = 2 };
        var docs = ReasoningRecipe.PretrainDocuments(settings).ToList();
        Assert.Equal(200, docs.Count);
        var worked = docs.Where(d => d.Contains(ReasoningPrompts.StepByStep)).ToList();
        var direct = docs.Where(d => d.Contains(ReasoningPrompts.DirectInstruction)).ToList();
        Assert.True(worked.Count > 50 && direct.Count > 50, $"{worked.Count} worked, {direct.Count} direct");
        Assert.InRange(worked.Count - direct.Count, 0, 1);
        Assert.All(worked, d => Assert.Matches(@"^Q: What is [^\n]+\?\nLet's think step by step\.\nA: \d+ [+-] \d = (\d+ [+-] \d [+-] \d = )?\d+(\n\d+ [+-] \d = (\d+ [+-] \d [+-] \d = )?\d+)*\nanswer: \d+$", d));
        Assert.All(direct, d => Assert.Matches(@"^Q: What is [^\n]+\?\nGive only the final answer\.\nA: answer: \d+$", d));
        Assert.Contains(docs, d => !worked.Contains(d) && !direct.Contains(d)); // the knowledge and dialogue share, as plain documents
        Assert.Equal(docs, ReasoningRecipe.PretrainDocuments(settings).ToList());
        // Only training items: none of the held-out questions is in the text.
        var heldOut = ReasoningEvaluation.HeldOut(ReasoningRecipe.Family, 2, 300, 3).Select(i => $"Q: {i.Prompt}\n").ToList();
        Assert.DoesNotContain(docs, d => heldOut.Any(d.StartsWith));
    }

    [Fact]
    public void A_labelled_fraction_below_one_turns_the_other_family_items_into_bare_questions()
    {
        var full = new ReasoningModelSettings { CorpusDocuments = 400, Seed = 2 };
        var scarce = full with { LabelledFraction = 0.25 };
        var all = ReasoningRecipe.PretrainDocuments(full).ToList();
        var docs = ReasoningRecipe.PretrainDocuments(scarce).ToList();
        Assert.Equal(all.Count, docs.Count);
        // Family documents are the ones the full corpus gives an instruction; the rest must be untouched.
        var familyAt = Enumerable.Range(0, all.Count).Where(i => all[i].Contains(ReasoningPrompts.StepByStep) || all[i].Contains(ReasoningPrompts.DirectInstruction)).ToList();
        Assert.Equal(Enumerable.Range(0, all.Count).Except(familyAt).Select(i => all[i]), Enumerable.Range(0, all.Count).Except(familyAt).Select(i => docs[i]));
        var family = familyAt.Select(i => docs[i]).ToList();
        var labelled = family.Where(d => d.Contains("\nA: ")).ToList();
        var bare = family.Where(d => !d.Contains('\n')).ToList();
        Assert.Equal(family.Count, labelled.Count + bare.Count);
        Assert.InRange(labelled.Count, family.Count / 4, family.Count / 4 + 1);
        Assert.All(bare, d => Assert.Matches(@"^Q: What is [^\n]+\?$", d));
        // The same questions in the same places, and worked and direct replies still alternate among the labelled ones.
        Assert.All(familyAt, i => Assert.Equal(all[i].Split('\n')[0], docs[i].Split('\n')[0]));
        Assert.InRange(labelled.Count(d => d.Contains(ReasoningPrompts.StepByStep)) - labelled.Count(d => d.Contains(ReasoningPrompts.DirectInstruction)), 0, 1);
        var heldOut = ReasoningEvaluation.HeldOut(ReasoningRecipe.Family, 2, 300, 3).Select(i => $"Q: {i.Prompt}").ToHashSet();
        Assert.DoesNotContain(bare, heldOut.Contains);
        Assert.Throws<UserError>(() => ReasoningRecipe.PretrainDocuments(full with { LabelledFraction = 1.5 }).ToList());
    }

    [Fact]
    public void Answers_of_the_family_are_read_as_numbers()
    {
        Assert.True(AnswerExtraction.IsNumeric(ReasoningRecipe.Family));
        Assert.Equal("7", AnswerExtraction.Extract(ReasoningRecipe.Family, "3 + 4 = 7\nanswer: 7"));
    }
}
