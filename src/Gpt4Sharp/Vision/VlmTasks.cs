using Gpt4Sharp.Curriculum;

namespace Gpt4Sharp.Vision;

/// <summary>What a multimodal training or evaluation example asks for.</summary>
public enum VlmTask
{
    /// <summary>Describe the picture (its caption).</summary>
    Caption,
    /// <summary>Answer the question directly.</summary>
    Answer,
    /// <summary>MM-CoT stage 1: write the rationale from picture and question.</summary>
    Rationale,
    /// <summary>MM-CoT stage 2: answer from picture, question and rationale.</summary>
    AnswerFromRationale,
    /// <summary>
    /// Text-only practice of stage 1's lookup: no picture; the rationale's reading is given (no
    /// loss on it) and the model writes the rest, which repeats the named bars' values from it.
    /// </summary>
    LookupPractice,
}

/// <summary>
/// One picture + user text → assistant target. <paramref name="Image"/> is -1 for a text-only
/// example; <paramref name="GivenPrefix"/>, when set, is the start of <paramref name="Target"/>
/// that the model is given rather than trained to write (no loss on it).
/// </summary>
public sealed record VlmExample(int Image, VlmTask Task, string User, string Target, CurriculumItem Item, string Question, string Answer,
    string? GivenPrefix = null)
{
    public bool HasImage => Image >= 0;
}

/// <summary>
/// The curriculum's picture items as multimodal chat examples: captioning, visual QA (shapes,
/// digits, "what is unusual" scenes), chart QA, and the two-stage multimodal chain of thought
/// (Zhang et al. 2023): stage 1 writes the rationale from picture and question, stage 2 answers
/// from picture, question and that rationale.
/// </summary>
public static class VlmTasks
{
    public const string CaptionRequest = "Describe the picture.";
    const string RationaleRequest = "Explain what you see before answering.";

    public static string UserText(VlmTask task, string question, string? rationale = null) => task switch
    {
        VlmTask.Caption => CaptionRequest,
        VlmTask.Answer => question,
        VlmTask.Rationale => $"{question}\n{RationaleRequest}",
        _ => $"{question}\nRationale: {rationale}\nAnswer:",
    };

    /// <summary>Every example of picture <paramref name="image"/> (= the item's index in its set).</summary>
    public static IEnumerable<VlmExample> Examples(CurriculumItem item, int image)
    {
        var caption = CurriculumImages.Caption(item);
        yield return new VlmExample(image, VlmTask.Caption, CaptionRequest, caption, item, CaptionRequest, caption);
        foreach (var (q, a, why) in CurriculumImages.QuestionAnswers(item))
        {
            yield return new VlmExample(image, VlmTask.Answer, UserText(VlmTask.Answer, q), a, item, q, a);
            yield return new VlmExample(image, VlmTask.Rationale, UserText(VlmTask.Rationale, q), why, item, q, a);
            yield return new VlmExample(image, VlmTask.AnswerFromRationale, UserText(VlmTask.AnswerFromRationale, q, why), a, item, q, a);
        }
    }

    /// <summary>
    /// Text-only practice for a chart's questions that name a bar (its value; the trend between
    /// two bars): the stage-1 prompt without the picture, and its rationale with the reading (the
    /// first sentence, "purple 9, orange 1, blue 4, yellow 8.") given, so the loss falls on the
    /// step that finds the named bars in the reading and copies their values ("So yellow 8.").
    /// That lookup is an induction-style text pattern; with pictures it is one token of each
    /// rationale, here it costs no image encoding. Other families (and charts without such questions) give none.
    /// </summary>
    public static IEnumerable<VlmExample> LookupPractice(CurriculumItem item)
    {
        if (item.Extra?["scene"]?["colours"] is not System.Text.Json.Nodes.JsonArray colours) yield break;
        var names = colours.Select(c => (string)c!).ToArray();
        foreach (var (q, a, why) in CurriculumImages.QuestionAnswers(item))
        {
            int end = why.IndexOf(". ", StringComparison.Ordinal);
            if (end < 0 || !names.Any(c => q.Contains($"the {c} bar", StringComparison.Ordinal))) continue;
            yield return new VlmExample(-1, VlmTask.LookupPractice, UserText(VlmTask.Rationale, q), why, item, q, a, GivenPrefix: why[..(end + 1)]);
        }
    }

    /// <summary>The item re-targeted at one of its question/answer pairs, for the family's checker.</summary>
    public static CurriculumItem ForQuestion(CurriculumItem item, string question, string answer) =>
        item with { Prompt = question, Answer = answer };
}
