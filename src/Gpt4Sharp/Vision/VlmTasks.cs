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
}

/// <summary>One picture + user text → assistant target.</summary>
public sealed record VlmExample(int Image, VlmTask Task, string User, string Target, CurriculumItem Item, string Question, string Answer);

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

    /// <summary>The item re-targeted at one of its question/answer pairs, for the family's checker.</summary>
    public static CurriculumItem ForQuestion(CurriculumItem item, string question, string answer) =>
        item with { Prompt = question, Answer = answer };
}
