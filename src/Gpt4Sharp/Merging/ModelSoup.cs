using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Inference;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Gpt4Sharp.Merging;

/// <summary>One model of a soup: where it came from and its share of the average.</summary>
public sealed record SoupIngredient(string Model, string Checkpoint, double Weight);

/// <summary>
/// What <see cref="ModelSoup.Write"/> wrote. <paramref name="RelativeSpread"/> is the weighted root-mean-square distance of
/// the ingredients' weight matrices from their average, over the average's norm (norm gains are left out: they start equal in
/// every model): small (a few per cent) for models fine-tuned from one start, which average well; near 1 or above for models
/// from different starts, whose average is noise.
/// </summary>
public sealed record SoupResult(string Directory, IReadOnlyList<SoupIngredient> Ingredients, long Parameters, double RelativeSpread);

/// <summary>
/// Weight averaging of models fine-tuned from one start, a "model soup" (Wortsman et al. 2022): the average of several
/// fine-tuning runs that differ only in seed keeps their common skills and drops what each run got wrong by chance, and
/// for RLHF policies trained from one SFT model the same holds (Ramé et al. 2023, rewarded soups). Every ingredient must
/// have the same architecture and tokenizer; each parameter of the soup is the weighted mean of the ingredients' (in
/// float64, then stored as float32). The soup is a checkpoint directory that every verb taking --model loads.
/// Written here because no .NET library merges TorchSharp checkpoints; the arithmetic is one weighted sum per tensor.
/// </summary>
public static class ModelSoup
{
    /// <summary>The soup's provenance, beside its weights: each ingredient's path, checkpoint and weight.</summary>
    public const string SoupFile = "soup.json";

    /// <summary>
    /// Relative spread above which the ingredients look unrelated: n models from independent starts lie about √(n−1) times
    /// the average's norm from it, fine-tuning runs from one start a few per cent.
    /// </summary>
    public const double UnrelatedSpread = 0.5;

    public static SoupResult Write(IReadOnlyList<string> models, string directory, IReadOnlyList<double>? weights = null, Action<string>? warn = null)
    {
        if (models.Count < 2) throw new UserError($"A soup needs at least two models and {models.Count} was given; name two or more with --models.");
        var shares = Shares(models.Count, weights);
        if (File.Exists(Path.Combine(directory, CheckpointManifest.FileName)) || File.Exists(Path.Combine(directory, CheckpointStore.ModelFile)))
            throw new UserError($"{directory} already holds a checkpoint; choose a new output directory.");

        var sums = new Dictionary<string, Tensor>();
        var ingredients = new List<SoupIngredient>();
        ModelBundle? first = null;
        double squaredNorms = 0; // Σ w_i ‖θ_i‖² over the matrices, for the spread: Σ w_i ‖θ_i − θ̄‖² = Σ w_i ‖θ_i‖² − ‖θ̄‖²
        try
        {
            for (int i = 0; i < models.Count; i++)
            {
                var bundle = ModelBundle.Load(models[i], CPU, warn);
                if (first is null) first = bundle;
                try
                {
                    CheckFits(first, bundle, models[0], models[i]);
                    using var noGrad = no_grad();
                    foreach (var (name, parameter) in bundle.Model.state_dict())
                    {
                        using var scope = NewDisposeScope();
                        var value = parameter.detach().to(ScalarType.Float64);
                        if (value.dim() >= 2) squaredNorms += shares[i] * value.square().sum().item<double>();
                        if (sums.TryGetValue(name, out var sum)) sum.add_(value, alpha: shares[i]);
                        else sums[name] = (value * shares[i]).DetachFromDisposeScope(); // freed below, once the soup is written
                    }
                }
                finally
                {
                    if (bundle != first) bundle.Dispose();
                }
                ingredients.Add(new SoupIngredient(Path.GetFullPath(models[i]), bundle.Directory, shares[i]));
            }

            double soupNorm = 0;
            using (no_grad())
            using (NewDisposeScope())
                foreach (var (name, parameter) in first!.Model.state_dict())
                {
                    parameter.copy_(sums[name]);
                    if (parameter.dim() >= 2) soupNorm += sums[name].square().sum().item<double>();
                }
            double spread = Math.Sqrt(Math.Max(0, squaredNorms - soupNorm) / Math.Max(soupNorm, double.Epsilon));
            if (spread > UnrelatedSpread)
                warn?.Invoke($"The ingredients lie {spread:P0} of the soup's norm from it, as models trained from different starts do; their average is unlikely to work.");
            var result = new SoupResult(Path.GetFullPath(directory), ingredients, first.Model.parameters().Sum(p => p.numel()), spread);
            Save(first, directory, result);
            return result;
        }
        finally
        {
            foreach (var sum in sums.Values) sum.Dispose();
            first?.Dispose();
        }
    }

    /// <summary>The ingredients' weights, normalised to sum to 1 (uniform when none are given).</summary>
    static double[] Shares(int models, IReadOnlyList<double>? weights)
    {
        if (weights is null || weights.Count == 0) return [.. Enumerable.Repeat(1.0 / models, models)];
        if (weights.Count != models)
            throw new UserError($"{weights.Count} weights were given for {models} models; give one weight per model, or none for a uniform average.");
        if (weights.Any(w => !double.IsFinite(w) || w < 0) || weights.Sum() <= 0)
            throw new UserError($"Soup weights must be finite, none negative and not all zero; got {string.Join(", ", weights)}.");
        var total = weights.Sum();
        return [.. weights.Select(w => w / total)];
    }

    /// <summary>Ingredients average only when every tensor means the same thing in each: same architecture, same tokenizer, full precision.</summary>
    static void CheckFits(ModelBundle first, ModelBundle next, string firstPath, string nextPath)
    {
        if (next.DecodeWeights == DecodeWeights.Int8)
            throw new UserError($"{nextPath} is an int8 checkpoint; average the full-precision models and quantise the soup afterwards.");
        if (next.Model.Config != first.Model.Config)
            throw new UserError($"{nextPath} has another architecture than {firstPath} ({Describe(next.Model.Config)} against {Describe(first.Model.Config)}); a soup averages models fine-tuned from one start.");
        if (TokenizerFingerprint(next.Tokenizer) != TokenizerFingerprint(first.Tokenizer))
            throw new UserError($"{nextPath} uses another tokenizer than {firstPath}, so their embeddings mean different tokens; a soup averages models fine-tuned from one start.");
    }

    static string Describe(Model.GptConfig c) => $"{c.Architecture}, d_model {c.DModel}, {c.Layers} layers, {c.Heads} heads, vocabulary {c.VocabSize}";

    /// <summary>A tiktoken encoding by name; a BPE directory by the SHA-256 of its files.</summary>
    static string TokenizerFingerprint(ITokenizer tokenizer)
    {
        if (Tokenizers.TiktokenEncodings.Contains(tokenizer.Name)) return tokenizer.Name;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in new[] { BpeModel.VocabFile, BpeModel.MergesFile, BpeModel.SpecialTokensFile })
        {
            var path = Path.Combine(tokenizer.Name, file);
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(file));
            if (File.Exists(path)) hash.AppendData(File.ReadAllBytes(path));
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    static void Save(ModelBundle soup, string directory, SoupResult result)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, CheckpointStore.ModelFile), s => soup.Model.save_safetensors(s, leaveOpen: true));
        var config = ModelBundle.ConfigJson(soup.Model.Config, soup.Tokenizer);
        AtomicFile.WriteAllText(Path.Combine(directory, CheckpointStore.ConfigFile), config.ToJsonString(new() { WriteIndented = true }));
        var provenance = new JsonObject
        {
            ["method"] = "weighted average of parameters (model soup)",
            ["relative_spread"] = result.RelativeSpread,
            ["ingredients"] = JsonSerializer.SerializeToNode(result.Ingredients, RunInfo.Json),
        };
        AtomicFile.WriteAllText(Path.Combine(directory, SoupFile), provenance.ToJsonString(new() { WriteIndented = true }));
        RunInfo.Capture("soup", 0, provenance).Write(directory);
        ModelBundle.CopyTokenizer(soup.Tokenizer, directory);
        CheckpointManifest.Describe(directory, 0, [CheckpointStore.ModelFile, CheckpointStore.ConfigFile, SoupFile, CheckpointStore.RunFile]).Write(directory);
    }
}
