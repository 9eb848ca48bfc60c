using System.Diagnostics;
using Gpt4Sharp.Text;
using static TorchSharp.torch;

namespace Gpt4Sharp.Vision;

/// <summary>Zero-shot accuracy on one labelled set.</summary>
public sealed record ZeroShotResult(string Name, int Images, int Classes, double Top1, double Top5, double ImagesPerSecond, IReadOnlyList<string> Predictions);

/// <summary>
/// CLIP zero-shot classification: each class name is put through the prompt templates, the
/// text embeddings of a class are averaged (prompt ensembling, Radford et al. 2021 §3.1.4),
/// and each image takes the class with the highest cosine similarity.
/// </summary>
public static class ZeroShot
{
    /// <summary>Normalised class embeddings [classes, E].</summary>
    public static Tensor ClassEmbeddings(ClipModel model, ITokenizer tokenizer, IReadOnlyList<string> classes, IReadOnlyList<string> templates)
    {
        if (templates.Count == 0 || templates.Any(t => !t.Contains("{}", StringComparison.Ordinal)))
            throw new UserError("Every prompt template must contain {} where the class name goes, e.g. \"a picture of a {}.\"");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var texts = classes.SelectMany(c => templates.Select(t => t.Replace("{}", c, StringComparison.Ordinal))).ToArray();
        using var batch = TextBatch.Encode(tokenizer, texts, model.Config.Text.ContextLength);
        var embeddings = model.EncodeText(batch).view(classes.Count, templates.Count, -1).mean([1]);
        return nn.functional.normalize(embeddings, dim: -1).MoveToOuterDisposeScope();
    }

    public static ZeroShotResult Evaluate(ClipModel model, ITokenizer tokenizer, LabeledImages set, int batchSize = 256)
    {
        if (set.Labels.Length == 0) throw new UserError($"The set {set.Name} has no images to classify.");
        var watch = Stopwatch.StartNew();
        bool wasTraining = model.training;
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var classes = ClassEmbeddings(model, tokenizer, set.Classes, set.Templates);
        int k = Math.Min(5, set.Classes.Count), top1 = 0, top5 = 0;
        var predictions = new List<string>();
        for (int start = 0; start < set.Labels.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, set.Labels.Length - start);
            var images = model.EncodeImages(set.Pixels.narrow(0, start, n));
            var ranked = images.matmul(classes.T).topk(k, dim: 1).indexes.data<long>().ToArray();
            for (int i = 0; i < n; i++)
            {
                int label = set.Labels[start + i];
                if (ranked[i * k] == label) top1++;
                if (ranked.AsSpan(i * k, k).Contains(label)) top5++;
                predictions.Add(set.Classes[(int)ranked[i * k]]);
            }
        }
        model.train(wasTraining);
        double count = set.Labels.Length;
        return new ZeroShotResult(set.Name, set.Labels.Length, set.Classes.Count, top1 / count, top5 / count, count / watch.Elapsed.TotalSeconds, predictions);
    }
}
