using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Vision;
using SkiaSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Vision;

public class ClipTests
{
    static readonly ClipConfig Tiny = new()
    {
        Vision = new VisionConfig { ImageSize = 16, PatchSize = 8, Width = 32, Layers = 1, Heads = 2 },
        Text = new TextEncoderConfig { VocabSize = 256 + Gpt4Sharp.Text.SpecialTokens.All.Count, ContextLength = 64, Width = 32, Layers = 1, Heads = 2 },
        EmbedDim = 16,
    };

    [Fact]
    public void VisionTransformerShapesAndPooling()
    {
        foreach (var pooling in new[] { "cls", "mean" })
        {
            using var vit = new VisionTransformer(Tiny.Vision with { Pooling = pooling });
            var (pooled, patches) = vit.Forward(randn(3, 3, 16, 16));
            Assert.Equal([3L, 32], pooled.shape);
            Assert.Equal([3L, 4, 32], patches.shape);
        }
        using var model = new VisionTransformer(Tiny.Vision);
        Assert.Contains("[batch, 3, 16, 16]", Assert.Throws<UserError>(() => model.Forward(randn(1, 3, 8, 8))).Message);
    }

    [Fact]
    public void TextEncoderPoolsAtEachSequencesEndToken()
    {
        var tokenizer = new ByteTokenizer();
        using var model = new ClipModel(Tiny);
        model.eval();
        using var batch = TextBatch.Encode(tokenizer, ["a red circle", "a"], 64);
        Assert.Equal([12L, 1], batch.EndPositions.data<long>().ToArray());
        // Padding after the end token cannot change a causal encoder's pooled output.
        using var alone = TextBatch.Encode(tokenizer, ["a"], 64);
        using var noGrad = no_grad();
        Assert.True(model.EncodeText(batch)[1].allclose(model.EncodeText(alone)[0], atol: 1e-5));
    }

    [Theory]
    [InlineData("infonce")]
    [InlineData("sigmoid")]
    public void LossRewardsMatchingPairs(string kind)
    {
        using var model = new ClipModel(Tiny with { Loss = kind });
        using var noGrad = no_grad();
        var e = nn.functional.normalize(randn(8, 16), dim: -1);
        var matched = model.Loss(e, e).item<float>();
        var shuffled = model.Loss(e, e.roll(1, 0)).item<float>();
        Assert.True(matched < shuffled, $"{kind}: matched {matched} vs shuffled {shuffled}");
        if (kind == "infonce")
        {
            // Symmetric cross-entropy by hand: both directions of the similarity matrix.
            var logits = e.matmul(e.T) / 0.07;
            var targets = arange(8);
            var expected = (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.T, targets)) / 2;
            Assert.Equal(expected.item<float>(), matched, 3);
        }
    }

    [Fact]
    public void TrainsSavesLoadsAndClassifiesFoldersPerClass()
    {
        var run = RepoPaths.NewTempDir();
        var settings = new ClipTrainSettings
        {
            OutDirectory = run, Model = Tiny, Families = ["shapes"], TrainImages = 64, Steps = 12, BatchSize = 16, WarmupSteps = 2,
            TokenizerVocab = 300, EvalImages = 8, Seed = 3,
        };
        var result = ClipTraining.Run(settings, null, null, CancellationToken.None);
        Assert.True(result.FinalLoss < result.FirstLoss, $"loss {result.FirstLoss} -> {result.FinalLoss}");
        Assert.Equal(3, result.ZeroShot.Count);
        Assert.True(File.Exists(Path.Combine(run, "results.json")));
        Assert.Contains("Zero-shot", File.ReadAllText(Path.Combine(run, "report.html")));
        Assert.True(File.Exists(Path.Combine(result.CheckpointDirectory, "model.safetensors")));

        // A folder-per-class directory: two classes, three pictures each.
        var images = RepoPaths.NewTempDir();
        foreach (var (name, colour) in new[] { ("red_circle", SKColors.Red), ("blue-square", SKColors.Blue) })
        {
            Directory.CreateDirectory(Path.Combine(images, name));
            for (int i = 0; i < 3; i++)
            {
                using var bitmap = new SKBitmap(32, 32);
                using (var canvas = new SKCanvas(bitmap))
                {
                    canvas.Clear(SKColors.White);
                    using var paint = new SKPaint { Color = colour, IsAntialias = true };
                    canvas.DrawCircle(10 + 5 * i, 16, 8, paint);
                }
                using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(images, name, $"{i}.png"), png.ToArray());
            }
        }
        File.WriteAllText(Path.Combine(images, "red_circle", "notes.txt"), "not an image");

        using var clip = ClipBundle.Load(run);
        using var set = LabeledImages.FromFolders(images, clip.ImageOptions);
        Assert.Equal(["blue square", "red circle"], set.Classes);
        Assert.Equal([0, 0, 0, 1, 1, 1], set.Labels);
        var zeroShot = ZeroShot.Evaluate(clip.Model, clip.Tokenizer, set);
        Assert.Equal(6, zeroShot.Images);
        Assert.Equal(1.0, zeroShot.Top5); // two classes: the right one is always in the top five

        // The loaded checkpoint scores the held-out shapes exactly as the trained model did before saving.
        using var shapes = LabeledImages.FromCurriculum("shapes", settings.Seed + 1000, settings.EvalImages, clip.ImageOptions);
        var reloaded = ZeroShot.Evaluate(clip.Model, clip.Tokenizer, shapes);
        Assert.Equal(result.ZeroShot[0].Top1, reloaded.Top1);
        Assert.Equal(result.ZeroShot[0].Top5, reloaded.Top5);

        var oneClass = RepoPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(oneClass, "only"));
        Assert.Contains("at least two subfolders", Assert.Throws<UserError>(() => LabeledImages.FromFolders(oneClass, clip.ImageOptions)).Message);
        Assert.Contains("{}", Assert.Throws<UserError>(() => ZeroShot.ClassEmbeddings(clip.Model, clip.Tokenizer, ["x"], ["no slot"])).Message);
    }

    [Fact]
    public void CurriculumZeroShotSetsAreHeldOutAndDistinct()
    {
        using var set = LabeledImages.FromCurriculum("shapes", 1, 500, new ImageOptions { Size = 16 });
        Assert.Equal(18, set.Classes.Count);
        Assert.InRange(set.Labels.Length, 5, 162); // one-shape scenes of the eval split, each once
        Assert.All(set.Labels, l => Assert.InRange(l, 0, 17));
        Assert.Contains("Unknown zero-shot task", Assert.Throws<UserError>(() => LabeledImages.FromCurriculum("planets", 1, 5, new ImageOptions())).Message);
    }

    [Fact]
    public void ShapePromptsAreTheOneShapeCaptionsAtEveryPosition()
    {
        // The zero-shot prompts must read like the training captions, or the text tower embeds them out of distribution.
        var items = CurriculumImages.ImageFamily("shapes").Generate(3, Gpt4Sharp.Curriculum.Split.Train, 400).Where(i => i.Difficulty == 1).ToList();
        Assert.NotEmpty(items);
        foreach (var item in items)
        {
            var shape = item.Extra!["scene"]!["shapes"]![0]!;
            var prompts = LabeledImages.OneShapeTemplates.Select(t => t.Replace("{}", $"{shape["colour"]} {shape["shape"]}"));
            Assert.Contains(CurriculumImages.Caption(item), prompts);
        }
        using var train = LabeledImages.FromCurriculum("shapes", 1, 500, new ImageOptions { Size = 16 }, Gpt4Sharp.Curriculum.Split.Train);
        using var heldOut = LabeledImages.FromCurriculum("shapes", 1, 500, new ImageOptions { Size = 16 });
        Assert.Equal(162, train.Labels.Length + heldOut.Labels.Length); // every one-shape scene, in exactly one split
        Assert.Equal(LabeledImages.OneShapeTemplates, heldOut.Templates);
    }
}
