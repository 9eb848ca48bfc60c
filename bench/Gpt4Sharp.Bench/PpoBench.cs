using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Model;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Bench;

/// <summary>
/// The alignment recipe end to end at laptop scale: pretrain → SFT → reward model → PPO, then
/// the held-out harmful-compliance, over-refusal and closed-domain hallucination rates of the
/// SFT model and of the PPO policy, and the reward model's held-out pair accuracy. The SFT
/// mixture is deliberately light on safety demonstrations (as GPT-4's report describes, the
/// refusal behaviour is mostly taught by RLHF), so there is something for PPO to fix.
/// Usage: ppo [key=value ...] with keys pretrain, sft, rm, ppo (steps), d, layers, batch, prompts (per PPO step), tokens (longest reply), probe (held-out safety prompts; half as many passages), redteam (held-out red-team requests, four conversations each), lr_e6 (PPO learning rate in 1e-6 units), kl_horizon (rollouts over which the adaptive KL controller moves β by up to 20 %; 0, the default, a tenth of the run's rollouts), kl_coef_e3 (initial β in 1e-3 units), balance (1: practice prompts drawn family by family and kind by kind; 0: from the pooled prompts), group_baseline (1: each reply's score minus the mean of the other replies to its prompt), rbrm (1: add the rule-based reward model's reward to the learned one, as the recipe does; 0: learned reward only), out,
/// pretrained (reuse the pretraining run in this directory), safety_pct (safety items' share of the SFT mixture), families (PPO practice families joined by '+'), pool (practice items per family),
/// sft_model and rm_model (reuse an earlier run's fine-tuned model and reward model: only PPO runs), rm_pairs, rm_lr_e5, fact_reference (1: fact questions with the entity's reference sheet), off_topic_pct (share of off-topic rejected replies), rm_likelihood (0 none, 1 reply, 2 pmi, 3 reference, 4 gated reference), rm_policy_pairs (training-split safety requests whose sampled replies, ranked by the RBRM, add reward-model pairs; 0 none),
/// framing (1: safety practice prompts re-asked in varied frames; 2: contrastive pairs, each request beside its look-alike of the other intent; PpoSettings.PromptFraming), samples (completions per prompt), pair_baseline (0: the rule-based reward baselined per prompt even inside a contrastive pair), kl_target (nats per reply), learned_rm (0: leave the learned reward model out of PPO's reward), rm_weight_pct (the learned reward's weight in %), rubric (the RBRM's rubric file), mining (hard-prompt mining boost: a safety practice unit is drawn with weight 1 + mining × its last failure share; 0 off; PpoSettings.HardPromptMining), intent_aux_pct (weight of the auxiliary intent loss in %, 0 off; PpoSettings.IntentAuxCoefficient), intent_batch (labelled safety practice prompts added to the intent and refusal-decision losses of every update, 0 off; PpoSettings.IntentAuxBatch), refusal_aux_pct (weight of the auxiliary refusal-decision loss in %, 0 off; PpoSettings.RefusalAuxCoefficient), batch_by_group (1: the practice batch drawn group by group in the rollouts' shares; PpoSettings.PracticeBatchByGroup), word_dropout_pct (chance in % that a practice-batch prompt's word is left out; 0 off; PpoSettings.PracticeWordDropout), average_pct (decay in % of the moving average of the policy's weights that is saved and probed; 0 off; PpoSettings.PolicyAverageDecay), select_every (checkpoint selection on dev prompts every N steps and after the last; 0 off; PpoSettings.SelectionEvery), select_requests and select_questions (its dev safety requests and knowledge questions of each kind; PpoSettings.SelectionRequests, SelectionQuestions), closed_domain_pct (weight in % of the closed-domain reward on knowledge practice prompts; 0 off; PpoSettings.ClosedDomainRewardWeight), closed_domain_kinds (the kinds of knowledge question it judges, joined by '+'; default all; PpoSettings.ClosedDomainRewardKinds), benign_batch (knowledge practice prompts added to every practice batch as benign; 0 off; PpoSettings.BenignPracticeBatch), decline_aux_pct (weight of the auxiliary decline-decision loss on them in %, 0 off; PpoSettings.DeclineAuxCoefficient), concept_pct (share in % of the practice batch's safety draws given to requests about the hazards family's concepts; 0 off; PpoSettings.ConceptPracticeShare), reserve_pct (share in % of the safety requests practised on, those `sft --safety-practice-reserve` left out; 0: every training-split request; PpoSettings.SafetyPracticeReserve), seed (PPO's training seed: prompts, sampling, minibatch order and the extra heads' initialisation; the probes keep PpoSettings.ProbeSeed, so seeds are compared on the same prompts), dev (training-split intent requests asked in the two dev frames and, separately, in the two shape-dev frames, before and after; 0 skips).
/// </summary>
public static class PpoBench
{
    public static int Run(string[] args)
    {
        var opts = KeyValueArgs.Parse(args);
        // Read before any stage trains, so a bad value costs nothing.
        var framing = (PromptFraming)opts.Int("framing", (int)new PpoSettings().PromptFraming);
        if (!Enum.IsDefined(framing)) throw new Gpt4Sharp.UserError($"framing={(int)framing} is not 0 (curriculum), 1 (varied) or 2 (contrastive).");
        var root = opts.TryGetValue("out", out var o) ? Path.GetFullPath(o) : Path.Combine(Path.GetTempPath(), $"g4s-ppo-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        Console.WriteLine($"cores: {Environment.ProcessorCount}; runs under {root}");
        var total = Stopwatch.StartNew();
        void Log(string line) => Console.WriteLine($"  {line}");

        var clock = Stopwatch.StartNew();
        // sft_model=DIR (and rm_model=DIR) reuse an earlier run's fine-tuned model (and reward model), so PPO settings can be compared on the same start.
        string? sftReuse = opts.GetValueOrDefault("sft_model"), rmReuse = opts.GetValueOrDefault("rm_model");
        // pretrained=DIR reuses an earlier bench's pretraining run, so SFT, reward-model and PPO settings can be compared on the same base.
        string pretrainDir;
        if (sftReuse is not null) pretrainDir = "";
        else if (opts.TryGetValue("pretrained", out var reuse)) pretrainDir = Path.GetFullPath(reuse);
        else
        {
            var pretrain = Pretraining.Run(new PretrainSettings
            {
                OutDirectory = Path.Combine(root, "pretrain"), TokenizerVocabSize = 1024, CorpusDocuments = 30_000, Device = "cpu", MeasureMfu = false, SamplePrompts = [],
                Model = new GptConfig { ContextLength = 192, DModel = opts.Int("d", 128), Layers = opts.Int("layers", 4), Heads = 4, KvHeads = 4 },
                Train = new TrainConfig { Steps = opts.Int("pretrain", 600), BatchSize = opts.Int("batch", 16), SequenceLength = 128, LearningRate = 3e-3, WarmupSteps = 30, EvalEvery = opts.Int("pretrain", 600), CheckpointEvery = 0 },
            }, resume: false, new TrainLines("pretrain"), Log);
            Console.WriteLine($"pretrain: {pretrain.Parameters:N0} parameters, validation loss {pretrain.FinalValidationLoss:F3}, {clock.Elapsed.TotalSeconds:F0} s");
            pretrainDir = pretrain.OutDirectory;
        }

        string sftDir;
        if (sftReuse is not null) sftDir = Path.GetFullPath(sftReuse);
        else
        {
            clock.Restart();
            var chats = Path.Combine(root, "sft.jsonl");
            // safety_pct=P gives safety items P % of the SFT mixture (half of them refusals of harmful requests); without it the weight is 0.3 (about 5 %).
            double safetyWeight = opts.ContainsKey("safety_pct") ? 6.0 * opts.Int("safety_pct", 5) / (100 - opts.Int("safety_pct", 5)) : 0.3;
            var mixture = new Mixture { Seed = 1, Count = 6000, Weights = new() { ["knowledge"] = 3, ["arithmetic"] = 2, ["dialogue"] = 1, ["safety"] = safetyWeight } };
            File.WriteAllLines(chats, mixture.Validated().ChatExamples().Select(e => JsonSerializer.Serialize(new { messages = e.Messages.Select(m => new { role = m.Role, content = m.Content }) })));
            var sft = FineTuning.Run(new FineTuneSettings
            {
                BaseModel = pretrainDir, OutDirectory = Path.Combine(root, "sft"), DataFile = chats, Device = "cpu", SamplePrompts = [],
                Train = new TrainConfig { Steps = opts.Int("sft", 300), BatchSize = opts.Int("batch", 16), SequenceLength = 192, LearningRate = 1e-3, WarmupSteps = 20, EvalEvery = opts.Int("sft", 300), CheckpointEvery = 0 },
            }, resume: false, new TrainLines("sft"), Log);
            Console.WriteLine($"sft: assistant validation loss {sft.InitialValidationLoss:F3} -> {sft.FinalValidationLoss:F3}, {clock.Elapsed.TotalSeconds:F0} s");
            sftDir = sft.OutDirectory;
        }

        string rmDir;
        double? rmAccuracy = null;
        if (rmReuse is not null) rmDir = Path.GetFullPath(rmReuse);
        else
        {
            clock.Restart();
            var rm = RewardModelTraining.Run(new RewardModelSettings
            {
                BaseModel = sftDir, OutDirectory = Path.Combine(root, "rm"), CurriculumPairs = opts.Int("rm_pairs", 3000), FactPairs = opts.Int("fact_reference", 0) != 0 ? FactPairs.WithReference : FactPairs.ClosedBook,
                OffTopicShare = opts.Int("off_topic_pct", 25) / 100.0, Likelihood = (RewardLikelihood)opts.Int("rm_likelihood", 0), Steps = opts.Int("rm", 200), BatchSize = opts.Int("batch", 16),
                LearningRate = opts.Int("rm_lr_e5", 30) * 1e-5, EvalEvery = 50, Device = "cpu", PolicyPairPrompts = opts.Int("rm_policy_pairs", new RewardModelSettings().PolicyPairPrompts),
            }, log: Log);
            Console.WriteLine($"rm: held-out pair accuracy {rm.InitialHeldOutAccuracy:P1} -> {rm.HeldOutAccuracy:P1} on {rm.HeldOutPairs} pairs, {clock.Elapsed.TotalSeconds:F0} s");
            foreach (var s in rm.BySource) Console.WriteLine($"  {s.Source,-32} {s.Accuracy,7:P1} of {s.Pairs,-4} (backbone likelihood baseline {s.LikelihoodAccuracy:P1})");
            (rmDir, rmAccuracy) = (rm.OutDirectory, rm.HeldOutAccuracy);
        }

        clock.Restart();
        bool ruleBased = opts.Int("rbrm", 1) != 0;
        var ppoSettings = new PpoSettings
        {
            PolicyModel = sftDir, OutDirectory = Path.Combine(root, "ppo"), RewardModels = opts.Int("learned_rm", 1) != 0 ? [rmDir] : [], RuleBasedReward = ruleBased, Rubric = opts.GetValueOrDefault("rubric"), RewardModelWeight = opts.Int("rm_weight_pct", 100) / 100.0, Steps = opts.Int("ppo", 30),
            PromptsPerStep = opts.Int("prompts", 8), SamplesPerPrompt = opts.Int("samples", 4), MaxNewTokens = opts.Int("tokens", 48), LearningRate = opts.Int("lr_e6", 100) * 1e-6, ProbeSafetyPrompts = opts.Int("probe", 200), ProbePassagePrompts = opts.Int("probe", 200) / 2, ProbeRedTeamRequests = opts.Int("redteam", 40), Device = "cpu",
            KlHorizon = opts.Int("kl_horizon", (int)new PpoSettings().KlHorizon), BalancePrompts = opts.Int("balance", 1) != 0, GroupBaseline = opts.Int("group_baseline", 1) != 0, InitialKlCoefficient = opts.Int("kl_coef_e3", 100) * 1e-3, PromptsPerFamily = opts.Int("pool", new PpoSettings().PromptsPerFamily),
            Families = opts.TryGetValue("families", out var families) ? families.Split('+') : new PpoSettings().Families,
            PromptFraming = framing, SafetyPracticeReserve = opts.Int("reserve_pct", 0) / 100.0,
            KlTarget = opts.Int("kl_target", (int)new PpoSettings().KlTarget),
            PairBaseline = opts.Int("pair_baseline", 1) != 0,
            HardPromptMining = opts.Int("mining", 0),
            IntentAuxCoefficient = opts.Int("intent_aux_pct", 0) / 100.0,
            IntentAuxBatch = opts.Int("intent_batch", 0),
            RefusalAuxCoefficient = opts.Int("refusal_aux_pct", 0) / 100.0,
            PracticeBatchByGroup = opts.Int("batch_by_group", 0) != 0,
            BenignPracticeBatch = opts.Int("benign_batch", 0),
            ConceptPracticeShare = opts.Int("concept_pct", 0) / 100.0,
            DeclineAuxCoefficient = opts.Int("decline_aux_pct", 0) / 100.0,
            PracticeWordDropout = opts.Int("word_dropout_pct", 0) / 100.0,
            PolicyAverageDecay = opts.Int("average_pct", 0) / 100.0,
            SelectionEvery = opts.Int("select_every", 0),
            SelectionRequests = opts.Int("select_requests", new PpoSettings().SelectionRequests),
            SelectionQuestions = opts.Int("select_questions", new PpoSettings().SelectionQuestions),
            ClosedDomainRewardWeight = opts.Int("closed_domain_pct", 0) / 100.0,
            ClosedDomainRewardKinds = opts.TryGetValue("closed_domain_kinds", out var kinds) ? kinds.Split('+') : new PpoSettings().ClosedDomainRewardKinds,
            Seed = opts.Int("seed", (int)new PpoSettings().Seed),
        };
        using var rewards = PpoRewards.Load(ppoSettings);
        var ppo = PpoTrainer.Run(ppoSettings, rewards, new Progress(), Log);
        Console.WriteLine($"ppo: {ppo.Steps.Count} steps, {clock.Elapsed.TotalSeconds:F0} s");
        foreach (var d in ppo.Dev)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  dev step {d.Step,3}: harmful {d.HarmfulCompliance,6:P1}  over-refusal {d.OverRefusal,6:P1}  unknown-entity {d.UnknownEntityHallucination,6:P1}  answerable declined {d.AnswerableDeclined,6:P1}  error {d.Error:F3}{(d.Step == ppo.SelectedStep ? "  (selected)" : "")}"));

        // A rate that falls to zero has no finite ratio: say so instead of dividing by a tiny number.
        static string FoldReduction(double before, double after) =>
            before == 0 ? "none before" : after == 0 ? "all removed" : $"ratio {before / after:F1}x";
        if (ppo.Before is { } b && ppo.After is { } a)
        {
            Console.WriteLine();
            Console.WriteLine($"{"held-out rate",-30} {"SFT",8} {"PPO",8}");
            Console.WriteLine($"{"harmful compliance",-30} {b.HarmfulCompliance,8:P1} {a.HarmfulCompliance,8:P1}   ({b.HarmfulPrompts} prompts; {FoldReduction(b.HarmfulCompliance, a.HarmfulCompliance)})");
            Console.WriteLine($"{"over-refusal",-30} {b.OverRefusal,8:P1} {a.OverRefusal,8:P1}   ({b.BenignPrompts} prompts; {100 * (a.OverRefusal - b.OverRefusal):+0.0;-0.0} points)");
            Console.WriteLine($"{"closed-domain hallucination",-30} {b.ClosedDomainHallucination,8:P1} {a.ClosedDomainHallucination,8:P1}   ({b.PassagePrompts} prompts)");
            Console.WriteLine($"{"red team: harmful compliance",-30} {b.RedTeamHarmfulCompliance,8:P1} {a.RedTeamHarmfulCompliance,8:P1}   ({b.RedTeamHarmful} conversations; {FoldReduction(b.RedTeamHarmfulCompliance, a.RedTeamHarmfulCompliance)})");
            Console.WriteLine($"{"red team: over-refusal",-30} {b.RedTeamOverRefusal,8:P1} {a.RedTeamOverRefusal,8:P1}   ({b.RedTeamBenign} conversations; {100 * (a.RedTeamOverRefusal - b.RedTeamOverRefusal):+0.0;-0.0} points)");
        }
        // The held-out safety rates split into unseen frames, unseen (topic, intent) combinations in training frames, and the family's other requests.
        if (ppo.Before is { SafetyGroups.Count: > 0 } gbRates && ppo.After is { } gaRates)
        {
            var (gb, ga) = (gbRates.SafetyGroups, gaRates.SafetyGroups);
            Console.WriteLine($"{"held-out, by request group",-30} {"SFT",14} {"PPO",14}");
            static string Count(int hits, int total) => $"{hits,3} of {total,-3}";
            foreach (var (before, after) in gb.Zip(ga))
            {
                Console.WriteLine($"{"  " + before.Group + ": compliance",-30} {Count(before.Complied, before.HarmfulPrompts),14} {Count(after.Complied, after.HarmfulPrompts),14}");
                Console.WriteLine($"{"  " + before.Group + ": over-refusal",-30} {Count(before.Refused, before.BenignPrompts),14} {Count(after.Refused, after.BenignPrompts),14}");
            }
        }
        // The same plain rates on training-split prompts (the ones PPO practises on): settings are chosen on these, not on the held-out rates above.
        var trainSizes = new ProbeSizes(ppoSettings.ProbeSafetyPrompts, ppoSettings.ProbePassagePrompts, 0);
        if (!trainSizes.IsEmpty)
        {
            AlignmentRates TrainRates(string dir)
            {
                using var bundle = ModelBundle.Load(dir, "cpu");
                return AlignmentProbe.Measure(bundle.Model, bundle.Tokenizer, ppoSettings.ProbeSeed, trainSizes, ppoSettings.MaxNewTokens, ppoSettings.SystemPrompt, split: Split.Train);
            }
            var (tb, ta) = (TrainRates(sftDir), TrainRates(ppo.OutDirectory));
            Console.WriteLine($"{"training-split rate",-30} {"SFT",8} {"PPO",8}");
            Console.WriteLine($"{"harmful compliance",-30} {tb.HarmfulCompliance,8:P1} {ta.HarmfulCompliance,8:P1}   ({tb.HarmfulPrompts} prompts)");
            Console.WriteLine($"{"over-refusal",-30} {tb.OverRefusal,8:P1} {ta.OverRefusal,8:P1}   ({tb.BenignPrompts} prompts)");
            Console.WriteLine($"{"closed-domain hallucination",-30} {tb.ClosedDomainHallucination,8:P1} {ta.ClosedDomainHallucination,8:P1}   ({tb.PassagePrompts} prompts)");
        }
        // Dev: training-split topic × intent requests in frames neither SFT nor PPO practised (how practice carries over to new frames):
        // the two question frames of round 8 and the two shape-dev frames of round 10 (a statement then a question; a yes/no question).
        int devRequests = opts.Int("dev", ppoSettings.ProbeSafetyPrompts);
        if (devRequests > 0)
            foreach (var (title, frames) in new[] { ("dev frames (training requests)", PracticeFraming.DevFrames), ("shape-dev frames (training req.)", PracticeFraming.ShapeDevFrames) })
            {
                (double HarmfulCompliance, int Harmful, double OverRefusal, int Benign) DevRates(string dir)
                {
                    using var bundle = ModelBundle.Load(dir, "cpu");
                    return AlignmentProbe.MeasureReframed(bundle.Model, bundle.Tokenizer, ppoSettings.ProbeSeed, devRequests, frames, ppoSettings.MaxNewTokens, ppoSettings.SystemPrompt);
                }
                var (db, da) = (DevRates(sftDir), DevRates(ppo.OutDirectory));
                Console.WriteLine($"{title,-30} {"SFT",8} {"PPO",8}");
                Console.WriteLine($"{"harmful compliance",-30} {db.HarmfulCompliance,8:P1} {da.HarmfulCompliance,8:P1}   ({db.Harmful} prompts; {Math.Round(db.HarmfulCompliance * db.Harmful)} -> {Math.Round(da.HarmfulCompliance * da.Harmful)})");
                Console.WriteLine($"{"over-refusal",-30} {db.OverRefusal,8:P1} {da.OverRefusal,8:P1}   ({db.Benign} prompts; {Math.Round(db.OverRefusal * db.Benign)} -> {Math.Round(da.OverRefusal * da.Benign)})");
            }
        if (rmAccuracy is { } accuracy) Console.WriteLine($"reward model held-out accuracy: {accuracy:P1}");
        Console.WriteLine($"total: {total.Elapsed.TotalMinutes:F1} min; PPO report: {Path.Combine(ppo.OutDirectory, "report.html")}");
        return 0;
    }

    sealed class TrainLines(string stage) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress p)
        {
            if (p.Step % 100 == 0 || p.Step == p.Steps) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {stage} step {p.Step}/{p.Steps}: loss {p.Loss:F3}"));
        }
    }

    sealed class Progress : IProgress<PpoStepMetrics>
    {
        public void Report(PpoStepMetrics m) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  ppo step {m.Step}/{m.Steps}: reward {m.Reward:F3}  kl {m.Kl:F3}  β {m.KlCoefficient:F3}  clipfrac {m.ClipFraction:F3}  entropy {m.Entropy:F2}  value loss {m.ValueLoss:F4}{(m.IntentLoss is { } intent ? $"  intent loss {intent:F4} (accuracy {m.IntentAccuracy:P0})" : "")}{(m.RefusalLoss is { } refusal ? $"  refusal loss {refusal:F4} (accuracy {m.RefusalAccuracy:P0})" : "")}{(m.DeclineLoss is { } decline ? $"  decline loss {decline:F4} (accuracy {m.DeclineAccuracy:P0})" : "")}  {m.Seconds:F1} s"));
    }
}
