using System.Diagnostics;
using System.Text.Json.Nodes;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Text;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>
/// One row of the evaluation table: exact-match accuracy of one task on held-out pictures;
/// <paramref name="ByQuestion"/> splits it by the kind of question (its first four words);
/// <paramref name="Misses"/> holds the first wrong answers (up to <see cref="MaxMisses"/>), to see how a task fails.
/// </summary>
public sealed record VlmScore(string Task, int Items, int Correct, IReadOnlyList<(string Question, string Expected, string Got)> Examples,
    IReadOnlyDictionary<string, (int Items, int Correct)>? ByQuestion = null, IReadOnlyList<(string Question, string Expected, string Got)>? Misses = null)
{
    public const int MaxMisses = 20;

    public double Accuracy => Items == 0 ? 0 : (double)Correct / Items;

    /// <summary>The kind of a question for <see cref="ByQuestion"/>: its first four words ("What is the value", "Which bar is the").</summary>
    public static string QuestionKind(string question) => string.Join(' ', question.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(4));
}

public sealed record VlmEvalResult(IReadOnlyList<VlmScore> Scores, double Seconds)
{
    public JsonObject ToJson() => new()
    {
        ["seconds"] = Seconds,
        ["tasks"] = new JsonArray([.. Scores.Select(s => (JsonNode)new JsonObject
        {
            ["task"] = s.Task, ["items"] = s.Items, ["correct"] = s.Correct, ["exact_match"] = s.Accuracy,
            ["examples"] = Rows(s.Examples),
            ["misses"] = Rows(s.Misses ?? []),
            ["by_question"] = new JsonObject((s.ByQuestion ?? new Dictionary<string, (int, int)>()).Select(k =>
                KeyValuePair.Create(k.Key, (JsonNode?)new JsonObject { ["items"] = k.Value.Items, ["correct"] = k.Value.Correct }))),
        })]),
    };

    static JsonArray Rows(IEnumerable<(string Question, string Expected, string Got)> rows) =>
        new([.. rows.Select(e => (JsonNode)new JsonObject { ["question"] = e.Question, ["expected"] = e.Expected, ["got"] = e.Got })]);
}

/// <summary>
/// Held-out evaluation of a vision-language model (eval split pictures, never trained on):
/// caption exact match, visual QA on shapes/digits/scenes, and chart QA answered directly and
/// with the two-stage rationale; answers are judged by the families' own checkers.
/// </summary>
public static class VlmEvaluation
{
    public static VlmEvalResult Run(VisionLanguageModel model, ITokenizer tokenizer, int itemsPerTask, long seed, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        var watch = Stopwatch.StartNew();
        var encoder = new ImageSpanEncoder(model, tokenizer);
        bool wasTraining = model.training;
        model.eval();
        var charts = HeldOut("charts", itemsPerTask, seed, encoder.ImageOptions);
        var vqa = new[] { "shapes", "digits", "scenes" }.ToDictionary(f => f, f => HeldOut(f, itemsPerTask, seed, encoder.ImageOptions));
        int total = itemsPerTask * 7, done = 0;
        var scores = new List<VlmScore>();

        VlmScore Score(string task, CurriculumImages set, Func<CurriculumItem, Tensor, (string Question, string Expected, string Got, bool Correct)> judge)
        {
            int correct = 0;
            List<(string, string, string)> examples = [], misses = [];
            var byQuestion = new SortedDictionary<string, (int Items, int Correct)>(StringComparer.Ordinal);
            for (int i = 0; i < set.Items.Count && !cancel.IsCancellationRequested; i++)
            {
                var (q, expected, got, ok) = judge(set.Items[i], set.Pixels[i]);
                if (ok) correct++;
                var kind = VlmScore.QuestionKind(q);
                var (n, c) = byQuestion.GetValueOrDefault(kind);
                byQuestion[kind] = (n + 1, c + (ok ? 1 : 0));
                if (examples.Count < 5) examples.Add((q, expected, got));
                if (!ok && misses.Count < VlmScore.MaxMisses) misses.Add((q, expected, got));
                progress?.Report((++done, total));
            }
            return new VlmScore(task, set.Items.Count, correct, examples, byQuestion, misses);
        }

        var captions = vqa["shapes"];
        scores.Add(Score("caption (shapes)", captions, (item, pixels) =>
        {
            var expected = CurriculumImages.Caption(item);
            var got = VlmGeneration.Reply(model, encoder, tokenizer, Prompt(tokenizer, encoder, VlmTasks.CaptionRequest, pixels)).Trim();
            return (VlmTasks.CaptionRequest, expected, got, AnswerText.Normalize(got) == AnswerText.Normalize(expected));
        }));
        foreach (var (family, set) in vqa)
            scores.Add(Score($"VQA {family}", set, (item, pixels) => Judge(model, encoder, tokenizer, item, pixels, twoStage: false)));
        scores.Add(Score("chart QA direct", charts, (item, pixels) => Judge(model, encoder, tokenizer, item, pixels, twoStage: false)));
        scores.Add(Score("chart QA two-stage rationale", charts, (item, pixels) => Judge(model, encoder, tokenizer, item, pixels, twoStage: true)));
        model.train(wasTraining);
        charts.Dispose();
        foreach (var set in vqa.Values) set.Dispose();
        return new VlmEvalResult(scores, watch.Elapsed.TotalSeconds);
    }

    static CurriculumImages HeldOut(string family, int count, long seed, ImageOptions options) =>
        CurriculumImages.Build([family], Split.Eval, seed, count, options, distinct: true);

    static MultimodalEncoding Prompt(ITokenizer tokenizer, ImageSpanEncoder encoder, string text, Tensor pixels) =>
        MultimodalChat.Encode(tokenizer, [new MultimodalMessage("user", text, [pixels])], encoder.TokensPerImage, addGenerationPrompt: true);

    static (string, string, string, bool) Judge(VisionLanguageModel model, ImageSpanEncoder encoder, ITokenizer tokenizer, CurriculumItem item, Tensor pixels, bool twoStage)
    {
        var (rationale, answer) = VlmGeneration.Ask(model, encoder, tokenizer, [pixels], item.Prompt, twoStage);
        var verdict = CurriculumRegistry.Get(item.Family).Check(item, answer.Trim());
        return (item.Prompt, item.Answer, rationale is null ? answer : $"{rationale} => {answer}", verdict.Correct);
    }
}
