using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;

namespace Gpt4Sharp.Tests.Vision;

public class LookupPracticeTests
{
    static VlmConfig Config(ITokenizer tokenizer) => new()
    {
        Vision = new VisionConfig { ImageSize = 16, PatchSize = 8, Width = 32, Layers = 1, Heads = 2 },
        Decoder = GptConfig.Create(tokenizer.VocabSize, 160, 32, 1, 2),
    };

    static IEnumerable<CurriculumItem> Charts(int count) => CurriculumImages.ImageFamily("charts").Generate(3, Split.Train, count);

    [Fact]
    public void PracticeIsTheStageOneRationaleOfEveryQuestionThatNamesABarWithoutThePicture()
    {
        int questionsNamingABar = 0, practice = 0;
        foreach (var item in Charts(60))
        {
            var caption = CurriculumImages.Caption(item);
            var reading = caption[(caption.IndexOf(": ", StringComparison.Ordinal) + 2)..];   // "purple 9, orange 1, blue 4, yellow 8."
            questionsNamingABar += CurriculumImages.QuestionAnswers(item).Count(qa => qa.Question.StartsWith("What is the value", StringComparison.Ordinal)
                || qa.Question.StartsWith("Does the value go up or down", StringComparison.Ordinal));
            foreach (var e in VlmTasks.LookupPractice(item))
            {
                practice++;
                Assert.False(e.HasImage);
                Assert.Equal(VlmTask.LookupPractice, e.Task);
                Assert.Equal(VlmTasks.UserText(VlmTask.Rationale, e.Question), e.User);
                Assert.Contains(CurriculumImages.QuestionAnswers(item), qa => qa.Question == e.Question && qa.Rationale == e.Target && qa.Answer == e.Answer);
                Assert.Equal(reading, e.GivenPrefix);
                Assert.StartsWith(" So ", e.Target[reading.Length..]);
            }
        }
        Assert.Equal(questionsNamingABar, practice);
        Assert.True(practice > 60, $"{practice} practice examples from 60 charts");
        var shapes = CurriculumImages.ImageFamily("shapes").Make(3, Split.Train, 0);
        Assert.Empty(VlmTasks.LookupPractice(shapes));
    }

    [Fact]
    public void OnlyTheLookupAfterTheGivenReadingIsTrainedWithAPictureTokenizer()
    {
        // A BPE with the cl100k split, as CLIP training makes it, so the reading must end on a token boundary.
        var texts = Charts(150).SelectMany(i => CurriculumImages.QuestionAnswers(i).SelectMany(q => new[] { q.Question, q.Rationale }));
        var dir = RepoPaths.NewTempDir();
        BpeTrainer.Train(texts, 340).Save(dir);
        var tokenizer = Tokenizers.Load(dir);
        var config = Config(tokenizer);
        int end = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value, patch = tokenizer.SpecialTokenId(SpecialTokens.ImagePatch)!.Value;
        foreach (var e in Charts(20).SelectMany(VlmTasks.LookupPractice))
        {
            var encoding = VlmTraining.Encode(tokenizer, config, e);
            Assert.DoesNotContain(patch, encoding.Ids);
            var trained = encoding.Ids.Where((_, t) => encoding.AssistantMask[t]).ToArray();
            Assert.Equal(end, trained[^1]);
            Assert.Equal(e.Target[e.GivenPrefix!.Length..], tokenizer.Decode(trained[..^1]));
            var fullRationale = VlmTraining.Encode(tokenizer, config, e with { GivenPrefix = null });
            Assert.Equal(fullRationale.Ids, encoding.Ids);   // the same text; only the loss mask differs
        }
    }

    [Fact]
    public void APrefixThatSplitsATokenOrIsNotTheTargetsStartIsRefused()
    {
        var tokenizer = new ByteTokenizer();
        var e = Charts(10).SelectMany(VlmTasks.LookupPractice).First();
        Assert.Throws<ArgumentException>(() => VlmTraining.Encode(tokenizer, Config(tokenizer), e with { GivenPrefix = "not the start" }));
        var dir = RepoPaths.NewTempDir();
        BpeTrainer.Train(Charts(150).Select(i => CurriculumImages.QuestionAnswers(i).First().Rationale), 400).Save(dir);
        var bpe = Tokenizers.Load(dir);
        // The first colour is one token of this BPE, so a prefix ending inside it splits a token.
        var word = (string)e.Item.Extra!["scene"]!["colours"]![0]!;
        Assert.Single(bpe.Encode(word));
        Assert.Throws<ArgumentException>(() => VlmTraining.Encode(bpe, Config(bpe), e with { GivenPrefix = word[..^2] }));
    }

    [Fact]
    public void ARunDrawsPracticeFromTrainingChartsBeyondItsPicturesAndOnlyWhenItTrainsOnCharts()
    {
        var s = new VlmTrainSettings { ClipDirectory = "", TrainImages = 30, Steps = 5, LookupPractice = 4, Families = ["charts"] };
        var practice = VlmTraining.PracticeExamples(s).ToList();
        var charts = practice.Select(e => e.Item.Id).Distinct().ToList();
        Assert.Equal(20, charts.Count);   // one chart per practice row the run uses: 5 steps x 4
        var family = CurriculumImages.ImageFamily("charts");
        Assert.Equal(Enumerable.Range(30, 20).Select(k => family.Make(s.Seed, Split.Train, k).Id), charts);
        Assert.All(practice, e => Assert.Equal(Split.Train, e.Item.Split));
        Assert.Equal(10, VlmTraining.PracticeExamples(s with { LookupPracticeCharts = 10 }).Select(e => e.Item.Id).Distinct().Count());
        Assert.Empty(VlmTraining.PracticeExamples(s with { LookupPractice = 0 }));
        Assert.Empty(VlmTraining.PracticeExamples(s with { Families = ["shapes", "digits"] }));
    }
}
