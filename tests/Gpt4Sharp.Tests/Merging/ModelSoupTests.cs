using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Merging;
using Gpt4Sharp.Model;
using Gpt4Sharp.Quantization;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Tests.Alignment;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Tests.Text;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Merging;

public class ModelSoupTests
{
    /// <summary>A fine-tuning run's stand-in: the start's weights plus small seeded noise, saved as a run directory.</summary>
    internal static string FineTuned(string start, long seed)
    {
        var dir = RepoPaths.NewTempDir("g4s-soup");
        using var bundle = ModelBundle.Load(start);
        using (no_grad())
        using (NewDisposeScope())
        {
            using var generator = new Generator((ulong)seed);
            foreach (var (_, p) in bundle.Model.named_parameters()) p.add_(randn(p.shape, generator: generator) * 0.01);
        }
        ModelBundle.CopyTokenizer(bundle.Tokenizer, dir);
        new CheckpointStore(dir).Save(bundle.Model, ModelBundle.ConfigJson(bundle.Model.Config, bundle.Tokenizer), null,
            new TrainerState { Step = 5, TokensSeen = 100 }, RunInfo.Capture("test", seed, null));
        return dir;
    }

    static Dictionary<string, double[]> Weights(string model)
    {
        using var bundle = ModelBundle.Load(model);
        using var scope = NewDisposeScope();
        return bundle.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float64).data<double>().ToArray());
    }

    [Fact]
    public void TheSoupIsTheWeightedMeanOfItsIngredientsAndLoadsLikeAnyCheckpoint()
    {
        var start = TinyRun.Create();
        var a = FineTuned(start, 1);
        var b = FineTuned(start, 2);
        var dir = Path.Combine(RepoPaths.NewTempDir(), "soup");
        var warnings = new List<string>();

        var result = ModelSoup.Write([a, b], dir, [1, 3], warnings.Add);

        var (wa, wb, soup) = (Weights(a), Weights(b), Weights(dir));
        foreach (var (name, values) in soup)
            for (int i = 0; i < values.Length; i++)
                Assert.True(Math.Abs(0.25 * wa[name][i] + 0.75 * wb[name][i] - values[i]) < 1e-6, $"{name}[{i}]");
        Assert.Equal(new[] { 0.25, 0.75 }, result.Ingredients.Select(x => x.Weight));
        Assert.Equal(Path.Combine(a, "checkpoints", "step-000005"), result.Ingredients[0].Checkpoint);

        // The spread, from Σ w‖θ_i‖² − ‖θ̄‖² over the weight matrices, equals their weighted RMS distance computed directly.
        var matrices = soup.Where(kv => !kv.Key.EndsWith("norm.weight")).ToList();
        Assert.Equal(1 + 7 * TinyRun.Config.Layers, matrices.Count);
        double Distance(Dictionary<string, double[]> w) => matrices.Sum(kv => kv.Value.Select((v, i) => Math.Pow(w[kv.Key][i] - v, 2)).Sum());
        double norm = Math.Sqrt(matrices.Sum(kv => kv.Value.Sum(x => x * x)));
        Assert.Equal(Math.Sqrt(0.25 * Distance(wa) + 0.75 * Distance(wb)) / norm, result.RelativeSpread, 4);
        Assert.InRange(result.RelativeSpread, 1e-4, ModelSoup.UnrelatedSpread);
        Assert.Empty(warnings);

        // A checkpoint like any other: verified, inspectable, and a start for training (with a fresh trainer state).
        var provenance = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelSoup.SoupFile)))!;
        Assert.Equal(2, provenance["ingredients"]!.AsArray().Count);
        Assert.Equal(0, CheckpointStore.Inspect(dir).Step);
        using var model = new GptModel(TinyRun.Config);
        var loaded = CheckpointStore.Load(dir, model);
        Assert.Equal(0, loaded.State.Step);
        Assert.Empty(loaded.State.LossHistory);
        Assert.Equal("soup", loaded.Run!.Command);

        // A model averaged with itself is itself.
        var same = ModelSoup.Write([a, a], Path.Combine(RepoPaths.NewTempDir(), "same"));
        Assert.Equal(wa.Values.SelectMany(v => v), Weights(same.Directory).Values.SelectMany(v => v));
        Assert.Equal(0, same.RelativeSpread, 6);
    }

    [Fact]
    public void ModelsFromDifferentStartsAverageOnlyWithAWarning()
    {
        var warnings = new List<string>();
        var result = ModelSoup.Write([TinyRun.Create(7), TinyRun.Create(8)], Path.Combine(RepoPaths.NewTempDir(), "soup"), warn: warnings.Add);
        Assert.True(result.RelativeSpread > ModelSoup.UnrelatedSpread, $"spread {result.RelativeSpread}");
        Assert.Contains("different starts", Assert.Single(warnings));
    }

    [Fact]
    public void BadSoupsAreRefusedWithOneSentenceAndWriteNothing()
    {
        var start = TinyRun.Create();
        var a = FineTuned(start, 1);
        var root = RepoPaths.NewTempDir();
        var dir = Path.Combine(root, "soup");

        var wider = RepoPaths.NewTempDir("g4s-soup");
        using (var model = new GptModel(TinyRun.Config with { DModel = 48, Heads = 3, KvHeads = 3 }, seed: 7))
        {
            ModelBundle.CopyTokenizer(TestTokenizers.Ours, wider);
            new CheckpointStore(wider).Save(model, ModelBundle.ConfigJson(model.Config, TestTokenizers.Ours), null, new TrainerState { Step = 1 }, RunInfo.Capture("test", 7, null));
        }
        var otherTokenizer = FineTuned(start, 2);
        var merges = Path.Combine(otherTokenizer, ModelBundle.TokenizerDirectory, BpeModel.MergesFile);
        File.WriteAllLines(merges, File.ReadAllLines(merges).SkipLast(1));
        string int8;
        using (var bundle = ModelBundle.Load(a)) int8 = Int8Quantization.Save(bundle.Model, bundle.Tokenizer, Path.Combine(root, "int8")).Directory;
        var existing = Path.Combine(root, "existing");
        ModelSoup.Write([a, start], existing);

        foreach (var (models, weights, output, expected) in new (string[], double[]?, string, string)[]
        {
            ([a], null, dir, "at least two models"),
            ([a, start], [1, 2, 3], dir, "3 weights were given for 2 models"),
            ([a, start], [1, -1], dir, "none negative"),
            ([a, start], [0, 0], dir, "not all zero"),
            ([a, wider], null, dir, "another architecture"),
            ([a, otherTokenizer], null, dir, "another tokenizer"),
            ([a, int8], null, dir, "int8 checkpoint"),
            ([a, start], null, existing, "already holds a checkpoint"),
            ([a, Path.Combine(root, "missing")], null, dir, "holds no Gpt4Sharp checkpoint"),
        })
        {
            var e = Assert.Throws<UserError>(() => ModelSoup.Write(models, output, weights));
            Assert.Contains(expected, e.Message);
            Assert.False(Directory.Exists(dir), $"'{expected}' left {dir} behind");
        }
    }
}
