using System.Diagnostics;
using System.Text.Json;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Bench;

/// <summary>
/// The safety half of PPO's probe on one chat model, without training anything: greedy replies (PPO's
/// system prompt, 48 new tokens) to N safety requests of a split, counted as the probe counts them
/// (a reply is a refusal by the safety family's own test), and broken down into topic × intent
/// requests (those in a held-out sentence frame apart; held-out ones in a training frame are new by their
/// topic-intent combination) and the family's other requests. On the training split it shows whether fine-tuning
/// learnt the intent contrast on requests it trained on; settings are chosen there, not on held-out.
/// With rm=DIR it also asks what PPO's reward model makes of the model's own replies: for each benign
/// request it samples 4 replies at temperature 1 (as PPO's rollouts do) and compares the reward model's
/// normalised scores of the sampled refusals and non-refusals, and of the curriculum's reference answer.
/// With by=1 it also counts the wrong replies (compliant harmful, refused benign) by sentence frame, by category and by
/// politeness opener, so one can see which wordings hold the remaining mistakes; dump=FILE writes every request with its
/// greedy reply as JSONL (prompt, kind, category, group, frame, reply, refusal) for finer cuts.
/// Usage: safety-probe model=DIR [n=200] [split=train|eval] [seed=…] [tokens=48] [show=0] [rm=DIR] [by=0] [dump=FILE]
/// </summary>
public static class SafetyProbeBench
{
    public static int Run(string[] args)
    {
        var opts = KeyValueArgs.Parse(args);
        if (!opts.TryGetValue("model", out var dir)) throw new UserError("Pass model=DIR, a fine-tuned run or checkpoint directory.");
        var split = opts.GetValueOrDefault("split", "train") == "eval" ? Split.Eval : Split.Train;
        int n = opts.Int("n", 200), tokens = opts.Int("tokens", 48), show = opts.Int("show", 0);
        long seed = opts.Int("seed", (int)new PpoSettings().Seed);
        var clock = Stopwatch.StartNew();

        using var bundle = ModelBundle.Load(dir, "cpu");
        var end = bundle.Tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value;
        var options = SamplingOptions.Greedy(tokens) with { StopTokens = [end] };
        // (group, harmful?) -> (prompts, wrong): compliance for harmful, refusal for benign.
        var counts = new Dictionary<(string Group, bool Harmful), (int Prompts, int Wrong)>();
        int shown = 0;
        // (dimension, value, harmful?) -> (prompts, wrong), for by=1.
        var cuts = new Dictionary<(string Dimension, string Value, bool Harmful), (int Prompts, int Wrong)>();
        using var dump = opts.TryGetValue("dump", out var dumpPath) ? new StreamWriter(dumpPath) : null;
        using var rm = opts.TryGetValue("rm", out var rmDir) ? LearnedRewardModel.Load(rmDir, bundle.Model.Device) : null;
        var benignSampled = new List<(double Reference, List<(bool Refusal, double Score)> Samples)>();
        foreach (var item in CurriculumRegistry.Get("safety").Generate(seed, split, n))
        {
            var ids = PpoTrainer.PromptIds(bundle.Tokenizer, item.Prompt, PpoSettings.DefaultSystemPrompt, bundle.Model.Config.ContextLength - tokens);
            var reply = ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, ids, 1, options)[0].Text;
            bool harmful = item.Kind == "harmful", wrong = SafetyFamily.IsRefusal(reply) != harmful;
            var group = AlignmentProbe.GroupOf(item) switch { SafetyRequestGroup.HeldOutFrame => "held-out frame", SafetyRequestGroup.TrainingFrame => "training frame", _ => "other" };
            var key = (group, harmful);
            var (p, w) = counts.GetValueOrDefault(key);
            counts[key] = (p + 1, w + (wrong ? 1 : 0));
            foreach (var (dimension, value) in Cuts(item))
            {
                var (cp, cw) = cuts.GetValueOrDefault((dimension, value, harmful));
                cuts[(dimension, value, harmful)] = (cp + 1, cw + (wrong ? 1 : 0));
            }
            dump?.WriteLine(JsonSerializer.Serialize(new
            {
                prompt = item.Prompt, kind = item.Kind, category = (string)item.Extra!["category"]!, group, frame = item.Extra["frame"] is { } f ? (int)f : -1, reply, refusal = SafetyFamily.IsRefusal(reply),
            }));
            if (wrong && shown++ < show) Console.WriteLine($"  {(harmful ? "complied" : "refused ")}: {item.Prompt} -> {reply}");
            if (!harmful && rm is not null)
            {
                var sampling = new SamplingOptions { MaxNewTokens = tokens, Temperature = 1.0, StopTokens = [end], Seed = seed + 7919L * benignSampled.Count };
                var samples = ParallelSampler.Sample(bundle.Model, bundle.Tokenizer, ids, 4, sampling).Select(c => c.Text).ToList();
                var scores = rm.Score([(item.Prompt, item.Response), .. samples.Select(t => (item.Prompt, t))]);
                benignSampled.Add((scores[0], samples.Select((t, i) => (SafetyFamily.IsRefusal(t), scores[i + 1])).ToList()));
            }
        }
        string Rate(Func<string, bool> group, bool harmful)
        {
            var rows = counts.Where(c => c.Key.Harmful == harmful && group(c.Key.Group)).Select(c => c.Value).ToList();
            int prompts = rows.Sum(r => r.Prompts), wrong = rows.Sum(r => r.Wrong);
            return prompts == 0 ? "-" : $"{(double)wrong / prompts,6:P1} of {prompts}";
        }
        Console.WriteLine($"{dir} on {n} {split.ToString().ToLowerInvariant()}-split safety requests ({clock.Elapsed.TotalSeconds:F0} s)");
        // A held-out topic × intent request in a training frame is held out for its (topic, intent) combination.
        Func<string, bool>[] columns = [_ => true, g => g != "other", g => g == "held-out frame", g => g == "training frame", g => g == "other"];
        Console.WriteLine($"{"",-20} {"all",-16} {"topic x intent",-16} {"  held-out frame",-16} {"  training frame",-16} {"other requests",-16}");
        foreach (var (name, harmful) in new[] { ("harmful compliance", true), ("over-refusal", false) })
            Console.WriteLine($"{name,-20} " + string.Join(" ", columns.Select(c => $"{Rate(c, harmful),-16}")));
        if (opts.Int("by", 0) != 0)
            foreach (var dimension in cuts.Keys.Select(k => k.Dimension).Distinct())
            {
                Console.WriteLine($"by {dimension}: {"",-36} {"harmful complied",-18} {"benign refused",-18}");
                foreach (var value in cuts.Keys.Where(k => k.Dimension == dimension).Select(k => k.Value).Distinct().Order(StringComparer.Ordinal))
                {
                    string Cell(bool harmful) => cuts.TryGetValue((dimension, value, harmful), out var c) ? $"{c.Wrong,3} of {c.Prompts,-3}" : "-";
                    Console.WriteLine($"  {value,-48} {Cell(true),-18} {Cell(false),-18}");
                }
            }
        if (rm is not null && benignSampled.Count > 0)
        {
            var all = benignSampled.SelectMany(b => b.Samples).ToList();
            string Mean(IEnumerable<double> xs) => xs.Any() ? $"{xs.Average(),6:F2} over {xs.Count()}" : "-";
            var mixed = benignSampled.Where(b => b.Samples.Any(x => x.Refusal) && b.Samples.Any(x => !x.Refusal)).ToList();
            int refusalAhead = mixed.Count(b => b.Samples.Where(x => x.Refusal).Average(x => x.Score) > b.Samples.Where(x => !x.Refusal).Average(x => x.Score));
            Console.WriteLine($"reward model on benign requests (normalised score): reference answer {Mean(benignSampled.Select(b => b.Reference))}; " +
                $"sampled non-refusals {Mean(all.Where(x => !x.Refusal).Select(x => x.Score))}; sampled refusals {Mean(all.Where(x => x.Refusal).Select(x => x.Score))}");
            Console.WriteLine($"requests with both kinds among 4 samples: {mixed.Count}; the refusals score higher on {refusalAhead}");
        }
        return 0;
    }

    /// <summary>The cuts a request is counted under with by=1: its sentence frame (or "other request"), its category and its opener.</summary>
    static IEnumerable<(string Dimension, string Value)> Cuts(CurriculumItem item)
    {
        yield return ("frame", item.Extra?["frame"] is { } frame ? $"{(int)frame}: {IntentRequests.Frames[(int)frame]}" : "other request");
        yield return ("category", (string)item.Extra!["category"]!);
        var request = item.Canonical.Split('|', 3)[2];
        var opener = item.Prompt.EndsWith(request, StringComparison.Ordinal) ? item.Prompt[..^request.Length] : "";
        yield return ("opener", opener.Length == 0 ? "(none)" : opener.Trim());
    }
}
