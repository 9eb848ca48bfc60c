using System.Diagnostics;
using System.Globalization;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Why the reward model's closed-book fact pairs sit near chance, without training anything. For the
/// curriculum's closed-book question pairs (as `rm train` builds them) it counts, per attribute and split,
/// how often the fact's sentence appears in the pipeline's pretraining corpus and fine-tuning conversations
/// (and whether the question itself does), then ranks each pair by the fine-tuned model's likelihood in two
/// forms: the question ("In which country is X?" → the right vs the wrong sentence) and the profile it was
/// taught from ("Describe X." → the profile vs the same profile with the wrong sentence in its place). With
/// rm=DIR it adds the trained reward model's accuracy on the same pairs.
/// Usage: rm-facts model=SFT_DIR [rm=DIR] [pairs=4000] [seed=1234] [pretrain_docs=40000] [sft_examples=10000] [data_seed=1337]
/// </summary>
public static class RewardFactsBench
{
    public static int Run(string[] args)
    {
        var opts = KeyValueArgs.Parse(args);
        if (!opts.TryGetValue("model", out var modelDir)) throw new UserError("Pass model=DIR, the fine-tuned model the reward model starts from.");
        int pairCount = opts.Int("pairs", 4000), seed = opts.Int("seed", 1234), dataSeed = opts.Int("data_seed", 1337);
        var clock = Stopwatch.StartNew();

        // Every (entity, attribute) question the world can ask, to read a pair's fact back from its prompt.
        var world = FictionalWorld.Instance;
        var byQuestion = world.Towns.Concat(world.People)
            .SelectMany(e => FictionalWorld.AttributesOf(e.Type).Select(a => (Entity: e, Slot: a)))
            .ToDictionary(x => string.Format(CultureInfo.InvariantCulture, x.Slot.Question, x.Entity.Name));
        var pairs = CurriculumComparisons.Build(seed, pairCount, offTopicShare: new RewardModelSettings().OffTopicShare)
            .Where(p => p.Source == "knowledge/question").ToList();

        var pretrain = Mixture.DefaultPretrain(dataSeed, opts.Int("pretrain_docs", 40_000)).PretrainDocuments().ToList();
        var sft = Mixture.DefaultFineTune(dataSeed, opts.Int("sft_examples", 10_000)).ChatExamples()
            .Select(e => string.Join("\n", e.Messages.Select(m => m.Content))).ToList();
        static int Count(List<string> docs, string text) => docs.Count(d => d.Contains(text, StringComparison.Ordinal));

        using var lm = LearnedRewardModel.FromLanguageModel(modelDir, "cpu", seed);
        using var rm = opts.TryGetValue("rm", out var rmDir) ? LearnedRewardModel.Load(rmDir, lm.Device) : null;
        bool Prefers(LearnedRewardModel model, string prompt, string chosen, string rejected)
        {
            var (tokens, lengths) = model.Batch([model.Encode(prompt, chosen), model.Encode(prompt, rejected)]);
            using var noGrad = TorchSharp.torch.no_grad();
            var ll = model.BackboneLogLikelihood(tokens, lengths).data<float>().ToArray();
            return ll[0] > ll[1];
        }

        var rows = new List<(string Attribute, Split Split, int PretrainFact, int PretrainQuestion, int SftFact, bool Question, bool Profile, bool? Rm)>();
        foreach (var p in pairs)
        {
            var (entity, slot) = byQuestion[p.Prompt];
            var profile = FictionalWorld.Profile(entity);
            var wrongProfile = profile.Replace(p.Chosen, p.Rejected, StringComparison.Ordinal);
            bool? rmRight = rm is null ? null : rm.Score([(p.Prompt, p.Chosen), (p.Prompt, p.Rejected)]) is var s && s[0] > s[1];
            rows.Add((slot.Name, p.Split, Count(pretrain, p.Chosen), Count(pretrain, "Q: " + p.Prompt + "\n"), Count(sft, p.Chosen),
                Prefers(lm, p.Prompt, p.Chosen, p.Rejected), Prefers(lm, $"Describe {entity.Name}.", profile, wrongProfile), rmRight));
        }

        Console.WriteLine($"{pairs.Count} closed-book question pairs ({pairCount} curriculum pairs, seed {seed}); pretraining corpus {pretrain.Count:N0} documents, fine-tuning {sft.Count:N0} conversations (data seed {dataSeed}); {clock.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine($"{"split",-6} {"attribute",-11} {"pairs",5} {"pretrain docs w/ fact",22} {"w/ question",12} {"SFT convs w/ fact",18} {"LL question",12} {"LL profile",11} {"reward model",13}");
        foreach (var g in rows.GroupBy(r => (r.Split, r.Attribute)).OrderBy(g => g.Key.Split).ThenBy(g => g.Key.Attribute, StringComparer.Ordinal)
                     .Append(rows.Where(r => r.Split == Split.Train).GroupBy(r => (Split.Train, "all")).Single())
                     .Append(rows.Where(r => r.Split == Split.Eval).GroupBy(r => (Split.Eval, "all")).Single()))
        {
            var list = g.ToList();
            string Pct(Func<(string, Split, int, int, int, bool, bool, bool?), bool> f) => $"{list.Average(r => f(r) ? 1.0 : 0.0),6:P1}";
            Console.WriteLine($"{g.Key.Item1.ToString().ToLowerInvariant(),-6} {g.Key.Item2,-11} {list.Count,5} {list.Average(r => r.PretrainFact),22:F1} {list.Average(r => r.PretrainQuestion),12:F1} {list.Average(r => r.SftFact),18:F1} " +
                $"{Pct(r => r.Item6),12} {Pct(r => r.Item7),11} {(rm is null ? "-" : Pct(r => r.Item8 == true)),13}");
        }
        Console.WriteLine($"held-out facts never stated in the pretraining corpus: {rows.Count(r => r.Split == Split.Eval && r.PretrainFact == 0)} of {rows.Count(r => r.Split == Split.Eval)}");
        return 0;
    }
}
