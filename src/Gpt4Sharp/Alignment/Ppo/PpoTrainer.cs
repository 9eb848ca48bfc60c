using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>A group of practice prompts (one family's items of one kind) and its share of each step's draws.</summary>
public sealed record PromptStratum(string Name, double Share, IReadOnlyList<string> Prompts)
{
    /// <summary>
    /// Prompts come in consecutive groups of this size that one draw takes together into the same step
    /// (2: a harmful request and its benign look-alike, <see cref="PromptFraming.Contrastive"/>).
    /// </summary>
    public int GroupSize { get; init; } = 1;

    /// <summary>Per prompt, whether it is a harmful request (true) or a benign one (false); null for groups that are not safety requests.</summary>
    public IReadOnlyList<bool>? Harmful { get; init; }

    /// <summary>The prompts in drawing units: each group of <see cref="GroupSize"/>.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Units => Prompts.Chunk(GroupSize).Select(c => (IReadOnlyList<string>)c).ToList();
}

/// <summary>
/// One sampled reply: the prompt it answers, the token ids of both, the draw (<see cref="PromptStratum.GroupSize"/> prompts) it
/// came from, and whether the prompt is a harmful request (null: not a safety request).
/// </summary>
sealed record Rollout(string Prompt, int[] PromptIds, int[] ResponseIds, string Response, int Unit, bool? Harmful);

/// <summary>
/// Stage 3 of the recipe, RLHF with PPO (Ziegler et al. 2019; Ouyang et al. 2022). Each step
/// samples several replies per prompt in one batched KV-cached decode, scores them with every
/// <see cref="IRewardScorer"/> (learned reward model, rule-based reward model, ...), subtracts
/// β·KL to the frozen fine-tuned model per token with an adaptive β, estimates advantages with
/// GAE on a value head, whitens rewards and advantages, and runs several epochs of clipped
/// policy and value updates over minibatches. The policy is saved as a normal run directory.
/// </summary>
public sealed class PpoTrainer : IDisposable
{
    readonly PpoSettings settings;
    readonly IReadOnlyList<IRewardScorer> scorers;
    readonly ITokenizer tokenizer;
    readonly PolicyWithValue actorCritic;
    readonly GptModel reference;
    readonly AdamW optimizer;
    readonly Parameter[] parameters;
    readonly IReadOnlyList<PromptStratum> strata;
    readonly IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> units;
    // Per stratum, the hard-prompt sampler (PpoSettings.HardPromptMining), or null where units are drawn uniformly.
    readonly HardPromptSampler?[] samplers;
    // The stride of the sampling seeds (PromptSlotsPerStep), so that no two prompts of a run, in one step or in two, decode
    // from the same seed.
    readonly int promptSlotsPerStep;
    // Every labelled safety practice prompt (PpoSettings.IntentAuxBatch draws from these), then, with PpoSettings.BenignPracticeBatch,
    // every practice prompt without a safety label, labelled benign; empty when the practice batch is off.
    readonly IReadOnlyList<(string Prompt, bool Harmful)> labelledPractice;
    // The safety groups' ranges in labelledPractice and their shares of the rollouts (PpoSettings.PracticeBatchByGroup).
    readonly IReadOnlyList<(string Name, int Start, int Count, double Share)> labelledGroups;
    // The ranges of the groups without safety labels in labelledPractice, and their shares (PpoSettings.BenignPracticeBatch).
    readonly IReadOnlyList<(string Name, int Start, int Count, double Share)> benignGroups;
    // Their chat-template ids, encoded on first draw: every update draws a batch, and most prompts come back many times.
    readonly int[]?[] labelledPracticeIds;
    // The reply openings PpoSettings.RefusalAuxCoefficient counts as a refusal; null when that is off.
    readonly ReplyOpenings? refusalOpenings;
    // The reply openings PpoSettings.DeclineAuxCoefficient counts as a decline, and the practice prompts whose curriculum reply
    // opens with one of them; null when that is off.
    readonly ReplyOpenings? declineOpenings;
    readonly HashSet<string>? declinePrompts;
    // The first tokens each practice prompt is read after: those of the refusal openings, then the decline openings' others.
    readonly int[] openingFirstTokens;
    readonly int endOfTurn;

    public AdaptiveKlController Kl { get; }
    public GptModel Policy => actorCritic.Policy;
    public List<PpoStepMetrics> History { get; } = [];

    /// <summary>Starts from <paramref name="policy"/>; <paramref name="reference"/> must be a separate copy of the same weights (it is frozen here).</summary>
    public PpoTrainer(GptModel policy, GptModel reference, ITokenizer tokenizer, IReadOnlyList<IRewardScorer> scorers, PpoSettings settings, IReadOnlyList<string>? prompts = null)
    {
        this.settings = settings.Validate();
        if (scorers.Count == 0) throw new UserError("PPO needs at least one reward: pass a reward model with --rm.");
        if (ReferenceEquals(policy, reference)) throw new ArgumentException("The reference model must be a separate copy of the policy.");
        this.scorers = scorers;
        this.tokenizer = tokenizer;
        this.reference = reference;
        endOfTurn = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
            ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {SpecialTokens.EndOfTurn} token; PPO needs a chat model from `gpt4sharp sft`.");
        reference.eval();
        foreach (var p in reference.parameters()) p.requires_grad = false;
        actorCritic = new PolicyWithValue(policy, intentHead: settings.IntentAuxCoefficient > 0, settings.Seed);
        parameters = actorCritic.parameters().ToArray();
        optimizer = torch.optim.AdamW(parameters, settings.LearningRate, weight_decay: 0.0);
        Kl = new AdaptiveKlController(settings.InitialKlCoefficient, settings.KlTarget, settings.EffectiveKlHorizon);
        strata = prompts is not null ? [new PromptStratum("given", 1.0, prompts)]
            : settings.BalancePrompts ? PromptStrata(settings.Families, settings.Seed, settings.PromptsPerFamily, settings.PromptFraming, settings.SafetyPracticeReserve)
            : [new PromptStratum("pooled", 1.0, CurriculumPrompts(settings.Families, settings.Seed, settings.PromptsPerFamily, settings.PromptFraming, settings.SafetyPracticeReserve))];
        strata = strata.Where(s => s.Prompts.Count > 0).ToList();
        units = strata.Select(s => s.Units).ToList();
        samplers = [.. strata.Select((s, i) => settings.HardPromptMining > 0 && s.Harmful is not null ? new HardPromptSampler(units[i].Count, settings.HardPromptMining) : null)];
        if (strata.Count == 0) throw new UserError("There are no prompts to practise on; give other --families.");
        promptSlotsPerStep = PromptSlotsPerStep(settings.PromptsPerStep, strata);
        var labelledStrata = settings.IntentAuxBatch > 0 ? strata.Where(s => s.Harmful is not null).ToList() : [];
        var benignStrata = settings.BenignPracticeBatch > 0 ? strata.Where(s => s.Harmful is null).ToList() : [];
        // Harmful concepts first, then harmless ones: most harmless look-alikes are left out as held-out requests name them, so
        // the two are drawn as separate groups with equal shares rather than in their 5-to-1 proportion.
        var concepts = settings.ConceptPracticeShare > 0 && labelledStrata.Count > 0 ? ConceptRequests.Practice().OrderBy(p => !p.Harmful).ToList() : [];
        labelledPractice = [.. labelledStrata.SelectMany(s => s.Prompts.Zip(s.Harmful!)), .. concepts, .. benignStrata.SelectMany(s => s.Prompts.Select(p => (p, false)))];
        labelledGroups = Ranges(labelledStrata, 0);
        if (concepts.Count > 0)
        {
            // The concept requests take their share of the safety draws; the safety groups keep theirs relative to each other.
            int start = labelledGroups.Sum(g => g.Count), harmfulConcepts = concepts.Count(p => p.Harmful);
            double half = labelledGroups.Sum(g => g.Share) * settings.ConceptPracticeShare / (1 - settings.ConceptPracticeShare) / 2;
            labelledGroups = [.. labelledGroups, ("hazards/harmful", start, harmfulConcepts, half), ("hazards/harmless", start + harmfulConcepts, concepts.Count - harmfulConcepts, half)];
        }
        benignGroups = Ranges(benignStrata, labelledGroups.Sum(g => g.Count));
        if (settings.RefusalAuxCoefficient > 0 && !settings.Families.Contains("safety"))
            throw new UserError("The refusal-decision loss reads the safety practice prompts; add the safety family to --families or set --refusal-aux 0.");
        if (settings.IntentAuxBatch > 0 && labelledGroups.Sum(g => g.Count) == 0)
            throw new UserError("The practice batch needs labelled safety practice prompts; add the safety family to --families or set --intent-aux-batch 0.");
        if (settings.BenignPracticeBatch > 0 && benignGroups.Count == 0)
            throw new UserError("The benign practice batch draws from practice prompts without safety labels; add the knowledge family to --families or set --benign-practice-batch 0.");
        labelledPracticeIds = new int[]?[labelledPractice.Count];
        refusalOpenings = settings.RefusalAuxCoefficient > 0 ? ReplyOpenings.Refusals(tokenizer, PracticeItems("safety", settings.Seed, settings.PromptsPerFamily, settings.SafetyPracticeReserve)) : null;
        if (settings.DeclineAuxCoefficient > 0)
        {
            if (!settings.Families.Contains("knowledge"))
                throw new UserError("The decline-decision loss reads the knowledge family's practice prompts; add knowledge to --families or set --decline-aux 0.");
            var knowledge = PracticeItems("knowledge", settings.Seed, settings.PromptsPerFamily).ToList();
            declineOpenings = ReplyOpenings.Declines(tokenizer, knowledge);
            // Labelled by the curriculum's own reply, not by whether it declines: where a decline's opening also opens an answer
            // ("The passage does not say." beside "The river Kessa runs through …" under a vocabulary that spells "The" "T" + "he"),
            // that decline is not among the openings, and pushing "I don't" up there would train against the curriculum's reply.
            declinePrompts = [.. knowledge.Where(item => declineOpenings.Opens(tokenizer, item.Response)).SelectMany(item => Wordings(item, settings.Seed, settings.PromptFraming))];
        }
        openingFirstTokens = [.. (refusalOpenings?.FirstTokens ?? []).Concat(declineOpenings?.FirstTokens ?? []).Distinct()];
    }

    /// <summary>Each group's range in the practice pool that starts at <paramref name="start"/>, with its share of the rollouts.</summary>
    static IReadOnlyList<(string Name, int Start, int Count, double Share)> Ranges(IReadOnlyList<PromptStratum> groups, int start) =>
        [.. groups.Select((s, i) => (s.Name, start + groups.Take(i).Sum(t => t.Prompts.Count), s.Prompts.Count, s.Share))];

    /// <summary>The practice prompts in the groups a step draws from, with each group's share of the draws.</summary>
    public IReadOnlyList<PromptStratum> Strata => strata;

    /// <summary>Training-split prompts of the given families (knowledge profiles left out: they are recitation, not behaviour), worded as <paramref name="framing"/> says.</summary>
    public static IReadOnlyList<string> CurriculumPrompts(IReadOnlyList<string> families, long seed, int perFamily, PromptFraming framing = PromptFraming.Curriculum, double safetyReserve = 0) =>
        families.SelectMany(name => PracticeItems(name, seed, perFamily, safetyReserve)).SelectMany(item => Wordings(item, seed, framing)).Distinct().ToList();

    /// <summary>
    /// Training-split prompts grouped by family and item kind; every family gets the same share of
    /// the draws, split evenly between its kinds (see <see cref="PpoSettings.BalancePrompts"/>).
    /// </summary>
    public static IReadOnlyList<PromptStratum> PromptStrata(IReadOnlyList<string> families, long seed, int perFamily, PromptFraming framing = PromptFraming.Curriculum, double safetyReserve = 0)
    {
        var result = new List<PromptStratum>();
        var names = families.Distinct().ToList();
        foreach (var name in names)
        {
            var items = PracticeItems(name, seed, perFamily, safetyReserve).ToList();
            // Contrastive: the topic × intent requests become (harmful, benign) pairs with half the family's share; the rest keep the curriculum's wording.
            var pairs = framing == PromptFraming.Contrastive
                ? items.SelectMany(item => PracticeFraming.ContrastivePairs(item, PracticeFraming.PairsPerRequest, seed)).Distinct().ToList() : [];
            if (pairs.Count > 0) items = items.Where(item => PracticeFraming.IntentClause(item) is null).ToList();
            var kinds = items.GroupBy(item => item.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
            double share = 1.0 / names.Count, kindShare = pairs.Count > 0 ? share / 2 : share;
            if (pairs.Count > 0)
                result.Add(new PromptStratum($"{name}/pairs", kinds.Count > 0 ? share / 2 : share, [.. pairs.SelectMany(p => new[] { p.Harmful, p.Benign })])
                    { GroupSize = 2, Harmful = [.. pairs.SelectMany(_ => new[] { true, false })] });
            foreach (var kind in kinds)
            {
                var prompts = kind.SelectMany(item => Wordings(item, seed, framing)).Distinct().ToList();
                result.Add(new PromptStratum($"{name}/{kind.Key}", kindShare / kinds.Count, prompts)
                    { Harmful = kind.Key is "harmful" or "benign" ? [.. prompts.Select(_ => kind.Key == "harmful")] : null });
            }
        }
        return result;
    }

    static IReadOnlyList<string> Wordings(CurriculumItem item, long seed, PromptFraming framing) =>
        framing == PromptFraming.Varied ? PracticeFraming.Variants(item, PracticeFraming.VariantsPerRequest, seed) : [item.Prompt];

    /// <summary>
    /// The training-split items of a family that PPO practises on (also what the closed-domain reward judges); with a safety
    /// reserve, the safety family's are the count first items inside it, the requests fine-tuning left out.
    /// </summary>
    internal static IEnumerable<CurriculumItem> PracticeItems(string family, long seed, int count, double safetyReserve = 0)
    {
        var source = CurriculumRegistry.Get(family);
        IEnumerable<CurriculumItem> items = source.Generate(seed, Split.Train, count);
        if (family == "safety" && safetyReserve > 0)
        {
            // Four times the expected stream length, and at most 50 draws per item wanted: a share too small to hold any request
            // ends the scan in a moment instead of running for ever.
            int scan = (int)Math.Min(int.MaxValue, Math.Min(4.0 * count / safetyReserve, 50.0 * count) + 1000);
            var reserved = Enumerable.Range(0, scan).Select(i => source.Make(seed, Split.Train, i)).Where(item => SafetyFamily.IsReservedForPractice(item, safetyReserve)).Take(count).ToList();
            if (reserved.Count == 0) throw new UserError($"A safety practice reserve of {safetyReserve:G} holds no training-split safety request; give a larger share.");
            items = reserved;
        }
        return items.Where(item => item.Kind != "profile" && item.History is null && item.Image is null);
    }

    /// <summary>Safety practice units whose last rollouts had a wrong sample, over all groups (0 without hard-prompt mining).</summary>
    public int MinedFailingUnits => samplers.Sum(s => s?.Failing ?? 0);

    /// <summary>One drawing unit (stratum, index): a prompt, or a group of prompts that go into the step together.</summary>
    (int Stratum, int Index) DrawUnit(Random random)
    {
        int chosen = PickByShare([.. strata.Select(s => s.Share)], random);
        return (chosen, samplers[chosen]?.Draw(random) ?? random.Next(units[chosen].Count));
    }

    /// <summary>An index drawn with probability proportional to its share (a single share is taken without drawing).</summary>
    static int PickByShare(IReadOnlyList<double> shares, Random random)
    {
        if (shares.Count == 1) return 0;
        double u = random.NextDouble() * shares.Sum();
        for (int i = 0; i < shares.Count; i++)
        {
            if (u < shares[i]) return i;
            u -= shares[i];
        }
        return shares.Count - 1;
    }

    /// <summary>Hard-prompt mining: each drawn safety unit's share of wrong samples becomes its new draw weight.</summary>
    void RecordFailures(IReadOnlyList<Rollout> rollouts, IReadOnlyList<(int Stratum, int Index)> drawn)
    {
        foreach (var group in rollouts.GroupBy(r => r.Unit))
        {
            var (s, index) = drawn[group.Key];
            if (samplers[s] is not { } sampler) continue;
            // A sampler exists only for labelled groups, so every rollout drawn from one carries its label.
            sampler.Record(index, HardPromptSampler.FailureShare(group.Select(r => (r.Harmful!.Value, r.Response))));
        }
    }

    /// <summary>The chat-template ids of a system + user turn ending in the assistant tag, cut from the left to at most <paramref name="maxLength"/>.</summary>
    public static int[] PromptIds(ITokenizer tokenizer, string prompt, string systemPrompt, int maxLength) =>
        PromptIds(tokenizer, [new ChatMessage("user", prompt)], systemPrompt, maxLength);

    /// <summary>The chat-template ids of the system prompt and a conversation, ending in the assistant tag, cut from the left to at most <paramref name="maxLength"/>.</summary>
    public static int[] PromptIds(ITokenizer tokenizer, IReadOnlyList<ChatMessage> conversation, string systemPrompt, int maxLength)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(systemPrompt)) messages.Add(new ChatMessage("system", systemPrompt));
        messages.AddRange(conversation);
        var ids = ChatTemplate.Encode(tokenizer, messages, addGenerationPrompt: true).Ids;
        return ids.Length <= maxLength ? ids : ids[^maxLength..];
    }

    /// <summary>Runs one PPO step (rollouts, rewards, advantages, updates) and returns its metrics.</summary>
    public PpoStepMetrics Step(CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        int step = History.Count;
        // Prompt choice and minibatch order depend only on (seed, step), so a resumed run draws what an uninterrupted one would;
        // System.Random is fine here: it only needs to be seeded, not portable across .NET versions.
        var random = new Random(unchecked((int)(settings.Seed * 1_000_003L + step)));
        var (rollouts, drawn) = Sample(step, random, cancel);
        if (samplers.Any(x => x is not null)) RecordFailures(rollouts, drawn);
        int n = rollouts.Count;
        int width = rollouts.Max(r => r.PromptIds.Length + r.ResponseIds.Length);

        // Scores from every reward term, added.
        var pairs = rollouts.Select(r => (r.Prompt, r.Response)).ToList();
        var scores = new double[n];
        var scorerMeans = new Dictionary<string, double>();
        var perScorer = new List<(IRewardScorer Scorer, IReadOnlyList<double> Scores)>();
        foreach (var scorer in scorers)
        {
            var s = scorer.Score(pairs);
            if (s.Count != n) throw new InvalidOperationException($"Reward scorer '{scorer.Name}' returned {s.Count} scores for {n} replies.");
            for (int i = 0; i < n; i++) scores[i] += s[i];
            scorerMeans[scorer.Name] = s.Average();
            perScorer.Add((scorer, s));
        }

        var shaped = settings.GroupBaseline ? Baselined(rollouts, perScorer) : scores;

        using var scope = torch.NewDisposeScope();
        var tokens = Pad(rollouts, width);
        var (oldLogProbs, oldValues, referenceLogProbs) = Evaluate(tokens);

        // Per-token rewards −β·KL with the score on the last token; GAE per reply.
        var kl = new double[n];
        var rewards = new double[n][];
        for (int i = 0; i < n; i++)
        {
            var (from, length) = Span(rollouts[i]);
            rewards[i] = new double[length];
            for (int t = 0; t < length; t++)
            {
                double k = oldLogProbs[i, from + t] - referenceLogProbs[i, from + t];
                kl[i] += k;
                rewards[i][t] = -Kl.Coefficient * k;
            }
            rewards[i][^1] += shaped[i];
        }
        if (settings.WhitenRewards) WhitenJagged(rewards, shiftMean: false);
        var advantages = new double[n][];
        var returns = new double[n][];
        for (int i = 0; i < n; i++)
        {
            var (from, length) = Span(rollouts[i]);
            var values = Enumerable.Range(from, length).Select(t => (double)oldValues[i, t]).ToArray();
            (advantages[i], returns[i]) = Advantages.Gae(rewards[i], values, settings.Gamma, settings.Lambda);
        }
        WhitenJagged(advantages, shiftMean: true);

        var mask = new float[n, width - 1];
        var adv = new float[n, width - 1];
        var ret = new float[n, width - 1];
        for (int i = 0; i < n; i++)
        {
            var (from, length) = Span(rollouts[i]);
            for (int t = 0; t < length; t++) (mask[i, from + t], adv[i, from + t], ret[i, from + t]) = (1, (float)advantages[i][t], (float)returns[i][t]);
        }
        var device = Policy.Device;
        var batch = new Batch(tokens, torch.tensor(oldLogProbs, device: device), torch.tensor(oldValues, device: device),
            torch.tensor(adv, device: device), torch.tensor(ret, device: device), torch.tensor(mask, device: device))
        {
            // The intent head is read where the policy decides its reply: the prompt's last token, the assistant tag. −1: no label.
            IntentPositions = torch.tensor(rollouts.Select(r => (long)r.PromptIds.Length - 1).ToArray(), device: device),
            IntentTargets = torch.tensor(rollouts.Select(r => r.Harmful switch { true => 1f, false => 0f, null => -1f }).ToArray(), device: device),
        };
        var u = Update(batch, random, step);

        double meanKl = kl.Average();
        double coefficient = Kl.Coefficient;
        Kl.Update(meanKl, n);
        var metrics = new PpoStepMetrics(step + 1, settings.Steps, meanKl, scores.Average(), u.ClipFraction, u.Entropy, u.ValueLoss, u.PolicyLoss,
            coefficient, rollouts.Average(r => r.ResponseIds.Length), scorerMeans, clock.Elapsed.TotalSeconds, u.IntentLoss, u.IntentAccuracy, u.RefusalLoss, u.RefusalAccuracy, u.DeclineLoss, u.DeclineAccuracy);
        History.Add(metrics);
        return metrics;
    }

    /// <summary>
    /// The summed score of each reply after its baseline: every scorer's score minus the mean of the other
    /// replies to the same prompt, except a scorer whose scores are comparable across prompts
    /// (<see cref="IRewardScorer.ComparableAcrossPrompts"/>, the rule-based reward), which is baselined over
    /// the whole drawing unit: with a harmful request and its benign look-alike in one unit, refusing both
    /// then scores the harmful refusal above the benign one even when every sample agrees.
    /// </summary>
    double[] Baselined(IReadOnlyList<Rollout> rollouts, IReadOnlyList<(IRewardScorer Scorer, IReadOnlyList<double> Scores)> perScorer)
    {
        var prompts = Enumerable.Range(0, rollouts.Count).Select(i => i / settings.SamplesPerPrompt).ToArray();
        var unitIds = rollouts.Select(r => r.Unit).ToArray();
        var result = new double[rollouts.Count];
        foreach (var (scorer, s) in perScorer)
        {
            var shaped = LeaveOneOut(s, scorer.ComparableAcrossPrompts && settings.PairBaseline ? unitIds : prompts);
            for (int i = 0; i < result.Length; i++) result[i] += shaped[i];
        }
        return result;
    }

    /// <summary>Each score minus the mean of the other scores in its group of <paramref name="groupSize"/> consecutive replies (replies to one prompt).</summary>
    public static double[] LeaveOneOut(IReadOnlyList<double> scores, int groupSize)
    {
        if (groupSize < 2 || scores.Count % groupSize != 0) throw new ArgumentException($"{scores.Count} scores do not split into groups of {groupSize} (at least 2).");
        return LeaveOneOut(scores, Enumerable.Range(0, scores.Count).Select(i => i / groupSize).ToArray());
    }

    /// <summary>Each score minus the mean of the other scores with the same group id (groups of at least 2).</summary>
    public static double[] LeaveOneOut(IReadOnlyList<double> scores, IReadOnlyList<int> groups)
    {
        if (groups.Count != scores.Count) throw new ArgumentException($"{scores.Count} scores but {groups.Count} group ids.");
        var sums = new Dictionary<int, (double Sum, int Count)>();
        for (int i = 0; i < scores.Count; i++)
            sums[groups[i]] = sums.TryGetValue(groups[i], out var g) ? (g.Sum + scores[i], g.Count + 1) : (scores[i], 1);
        var result = new double[scores.Count];
        for (int i = 0; i < scores.Count; i++)
        {
            var (sum, count) = sums[groups[i]];
            if (count < 2) throw new ArgumentException($"group {groups[i]} has one score; a leave-one-out baseline needs at least 2.");
            result[i] = scores[i] - (sum - scores[i]) / (count - 1);
        }
        return result;
    }

    /// <summary>The rollouts of one step: each prompt's completions come from one batched, KV-cached decode at temperature 1.</summary>
    (List<Rollout> Rollouts, List<(int Stratum, int Index)> Drawn) Sample(int step, Random random, CancellationToken cancel)
    {
        var rollouts = new List<Rollout>();
        var drawn = new List<(int Stratum, int Index)>();
        int maxPrompt = Policy.Config.ContextLength - settings.MaxNewTokens;
        if (maxPrompt < 2) throw new UserError($"The model's context of {Policy.Config.ContextLength} tokens leaves no room for prompts with --max-new-tokens {settings.MaxNewTokens}; lower it.");
        // A unit of several prompts (a contrastive pair) always comes whole, so a step can hold one prompt more than asked.
        for (int k = 0, unit = 0; k < settings.PromptsPerStep; unit++)
        {
            var (stratum, index) = DrawUnit(random);
            drawn.Add((stratum, index));
            for (int j = 0; j < units[stratum][index].Count; j++)
            {
                var prompt = units[stratum][index][j];
                bool? harmful = strata[stratum].Harmful?[index * strata[stratum].GroupSize + j];
                var ids = PromptIds(tokenizer, prompt, settings.SystemPrompt, maxPrompt);
                var options = new SamplingOptions { MaxNewTokens = settings.MaxNewTokens, Temperature = 1.0, StopTokens = [endOfTurn], Seed = SamplingSeed(settings.Seed, step, k, promptSlotsPerStep) };
                foreach (var sample in ParallelSampler.Sample(Policy, tokenizer, ids, settings.SamplesPerPrompt, options, cancel))
                {
                    // The end-of-turn token the sampler stopped on is part of the action: the policy must learn when to stop too.
                    int[] response = sample.Reason == FinishReason.Stop ? [.. sample.Tokens, endOfTurn] : sample.Tokens;
                    rollouts.Add(new Rollout(prompt, ids, response, sample.Text, unit, harmful));
                }
                k++;
            }
        }
        return (rollouts, drawn);
    }

    /// <summary>The most prompts one step can hold: whole units are drawn until <paramref name="promptsPerStep"/> is reached, so the last can overshoot it by its size less one.</summary>
    internal static int PromptSlotsPerStep(int promptsPerStep, IEnumerable<PromptStratum> strata) => promptsPerStep + strata.Max(s => s.GroupSize) - 1;

    /// <summary>The sampling seed of the <paramref name="slot"/>-th prompt of <paramref name="step"/>; distinct for every prompt of a run while slot &lt; slotsPerStep.</summary>
    internal static long SamplingSeed(long seed, int step, int slot, int slotsPerStep) => seed + 7919L * ((long)step * slotsPerStep + slot);

    /// <summary>Positions (in the shifted, next-token layout) of a reply's tokens: logits at position p predict token p+1.</summary>
    static (int From, int Length) Span(Rollout r) => (r.PromptIds.Length - 1, r.ResponseIds.Length);

    Tensor Pad(IReadOnlyList<Rollout> rollouts, int width)
    {
        var flat = new long[rollouts.Count * width];
        for (int i = 0; i < rollouts.Count; i++)
        {
            int j = 0;
            foreach (var id in rollouts[i].PromptIds.Concat(rollouts[i].ResponseIds)) flat[i * width + j++] = id;
        }
        return torch.tensor(flat, [rollouts.Count, width], device: Policy.Device);
    }

    /// <summary>Log-probabilities of each next token under the policy and the reference, and the policy's values, before any update.</summary>
    (float[,] LogProbs, float[,] Values, float[,] ReferenceLogProbs) Evaluate(Tensor tokens)
    {
        using var noGrad = torch.no_grad();
        var logProbs = new List<Tensor>();
        var values = new List<Tensor>();
        var referenceLogProbs = new List<Tensor>();
        for (long start = 0; start < tokens.shape[0]; start += settings.MinibatchSize)
        {
            using var scope = torch.NewDisposeScope();
            var chunk = tokens.narrow(0, start, Math.Min(settings.MinibatchSize, tokens.shape[0] - start));
            var (logits, v) = actorCritic.Forward(chunk);
            logProbs.Add(TokenLogProbs(logits, chunk).cpu().MoveToOuterDisposeScope());
            values.Add(v[.., ..^1].cpu().MoveToOuterDisposeScope());
            referenceLogProbs.Add(TokenLogProbs(reference.Forward(chunk).to(ScalarType.Float32), chunk).cpu().MoveToOuterDisposeScope());
        }
        return (ToArray(torch.cat(logProbs)), ToArray(torch.cat(values)), ToArray(torch.cat(referenceLogProbs)));
    }

    static float[,] ToArray(Tensor t)
    {
        var data = t.data<float>().ToArray();
        var result = new float[t.shape[0], t.shape[1]];
        Buffer.BlockCopy(data, 0, result, 0, data.Length * sizeof(float));
        return result;
    }

    /// <summary>log p(token[t+1] | tokens[..t]) for every t: [B, T-1].</summary>
    static Tensor TokenLogProbs(Tensor logits, Tensor tokens) =>
        logits[.., ..^1].log_softmax(-1).gather(-1, tokens[.., 1..].unsqueeze(-1)).squeeze(-1);

    /// <summary>
    /// Readings of <see cref="PpoSettings.IntentAuxBatch"/> labelled practice prompts (then <see cref="PpoSettings.BenignPracticeBatch"/>
    /// benign ones without a safety label) for one minibatch update: the intent logits
    /// at the assistant tag (with the intent head), the openings' next-token logits [B, F, 2, V] (with the refusal- or
    /// decline-decision loss: each prompt followed by each first token of <see cref="openingFirstTokens"/>, read at the tag and
    /// after that token), the labels and, with the decline-decision loss, whether each benign prompt's right reply declines. The prompts
    /// are drawn with replacement by a generator seeded from (seed, step, update), so a resumed run draws the same ones, and
    /// right-padded (the causal trunk's reading at a prompt's tokens never sees the padding).
    /// </summary>
    (Tensor? Intent, Tensor? OpeningLogits, Tensor Labels, Tensor? Declines) PracticeReadings(int step, int update)
    {
        var (drawn, random) = DrawPractice(step, update);
        int maxPrompt = Policy.Config.ContextLength - settings.MaxNewTokens;
        // Words are dropped after all prompts are drawn, so the draws are the same with and without dropout.
        var ids = drawn.Select(i => settings.PracticeWordDropout > 0
            ? PromptIds(tokenizer, WordDropout.Apply(labelledPractice[i].Prompt, settings.PracticeWordDropout, random), settings.SystemPrompt, maxPrompt)
            : labelledPracticeIds[i] ??= PromptIds(tokenizer, labelledPractice[i].Prompt, settings.SystemPrompt, maxPrompt)).ToList();
        // Without the decision losses, each prompt alone (as in round 12b, bit for bit); with them, once per opening's first token.
        int[] appended = openingFirstTokens;
        var rows = appended.Length == 0 ? ids : [.. ids.SelectMany(x => appended.Select(a => (int[])[.. x, a]))];
        int width = rows.Max(x => x.Length);
        var flat = new long[rows.Count * width];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows[i].Length; j++) flat[i * width + j] = rows[i][j];
        var device = Policy.Device;
        var positions = appended.Length == 0
            ? ids.Select(x => (long)x.Length - 1).ToArray()
            : rows.SelectMany(x => new[] { (long)x.Length - 2, x.Length - 1 }).ToArray();
        var (intent, next) = actorCritic.ReadAt(torch.tensor(flat, [rows.Count, width], device: device), torch.tensor(positions, [rows.Count, positions.Length / rows.Count], device: device));
        // The intent is read at the tag of each prompt's first row.
        intent = intent?.select(1, 0).reshape(ids.Count, -1).select(1, 0);
        var openingLogits = appended.Length == 0 ? null : next.reshape(ids.Count, appended.Length, 2, next.shape[^1]);
        var declines = declinePrompts is null ? null
            : torch.tensor(drawn.Skip(settings.IntentAuxBatch).Select(i => declinePrompts.Contains(labelledPractice[i].Prompt) ? 1f : 0f).ToArray(), device: device);
        return (intent, openingLogits, torch.tensor(drawn.Select(i => labelledPractice[i].Harmful ? 1f : 0f).ToArray(), device: device), declines);
    }

    /// <summary>The logits [B, F, 2, V] of <paramref name="openings"/>' first tokens, from readings after every one of <see cref="openingFirstTokens"/>.</summary>
    Tensor LogitsFor(ReplyOpenings openings, Tensor openingLogits) =>
        openings.FirstTokens.SequenceEqual(openingFirstTokens) ? openingLogits
            : openingLogits.index_select(1, torch.tensor(openings.FirstTokens.Select(t => (long)Array.IndexOf(openingFirstTokens, t)).ToArray(), device: openingLogits.device));

    /// <summary>
    /// The indices in the practice pool of one update's practice batch (the safety draws, then the benign ones), and the generator
    /// that drew them, which word dropout goes on with. Benign draws come after the safety ones, so they leave those unchanged.
    /// </summary>
    (List<int> Drawn, Random Random) DrawPractice(int step, int update)
    {
        var random = new Random(unchecked((int)((settings.Seed * 1_000_003L + step) * 10_007L + update)));
        int safetyCount = labelledGroups.Sum(g => g.Count);
        var drawn = Enumerable.Range(0, settings.IntentAuxBatch).Select(_ => settings.PracticeBatchByGroup ? DrawByGroup(labelledGroups, random) : random.Next(safetyCount))
            .Concat(Enumerable.Range(0, settings.BenignPracticeBatch).Select(_ => DrawByGroup(benignGroups, random))).ToList();
        return (drawn, random);
    }

    /// <summary>The prompts and labels of one update's practice batch (<see cref="DrawPractice"/>), before any word dropout.</summary>
    internal IReadOnlyList<(string Prompt, bool Harmful)> PracticeBatch(int step, int update) =>
        [.. DrawPractice(step, update).Drawn.Select(i => labelledPractice[i])];

    /// <summary>A practice prompt's index: one of <paramref name="groups"/> by its share of the rollouts, then a prompt in it uniformly.</summary>
    static int DrawByGroup(IReadOnlyList<(string Name, int Start, int Count, double Share)> groups, Random random)
    {
        var group = groups[PickByShare([.. groups.Select(g => g.Share)], random)];
        return group.Start + random.Next(group.Count);
    }

    sealed record Batch(Tensor Tokens, Tensor OldLogProbs, Tensor OldValues, Tensor Advantages, Tensor Returns, Tensor Mask)
    {
        /// <summary>Per rollout, the position of its prompt's last token, and 1 / 0 for a harmful / benign request, −1 for none.</summary>
        public required Tensor IntentPositions { get; init; }
        public required Tensor IntentTargets { get; init; }
    }

    /// <summary>The refusal-decision loss on the practice batch, and the share of it whose greedy opening is a refusal exactly when the request is harmful.</summary>
    (Tensor Loss, double Accuracy) RefusalDecision(Tensor readings, Tensor labels)
    {
        var openings = refusalOpenings!;
        var openingLogits = LogitsFor(openings, readings);
        var loss = ReplyOpenings.DecisionLoss(PracticeLogProbability(openings, openingLogits, settings.IntentAuxBatch), labels);
        return (loss, Accuracy(openings.GreedyOpens(openingLogits), labels));
    }

    /// <summary>
    /// The decline-decision loss on the benign practice prompts (after the first PpoSettings.IntentAuxBatch safety ones), and the
    /// share of them whose greedy opening is a decline exactly when the curriculum's reply opens with one. The whole opening
    /// is read: unlike a refusal on these prompts, the decline's first token is part of the decision.
    /// </summary>
    (Tensor Loss, double Accuracy) DeclineDecision(Tensor readings, Tensor declines)
    {
        var openings = declineOpenings!;
        var openingLogits = LogitsFor(openings, readings)[TensorIndex.Slice(settings.IntentAuxBatch)];
        return (ReplyOpenings.DecisionLoss(openings.LogProbability(openingLogits), declines), Accuracy(openings.GreedyOpens(openingLogits), declines));
    }

    /// <summary>The share of prompts whose greedy opening agrees with their 0 / 1 label.</summary>
    static double Accuracy(bool[] opens, Tensor labels) =>
        opens.Zip(labels.cpu().data<float>().ToArray()).Count(x => x.First == (x.Second > 0.5f)) / (double)opens.Length;

    /// <summary>
    /// log p(refusal) of a practice batch [B]: the safety prompts (the first <paramref name="safetyRows"/>) as the reply's whole
    /// opening, the benign prompts without safety labels after them (PpoSettings.BenignPracticeBatch) given the opening's first
    /// token, because a closed-domain question's decline opens with the same "I" as a refusal: trained on the whole opening, the
    /// loss would push that "I" down and with it the decline (round 22's W2: "I don't know" in 49 replies of 400, T2's 292).
    /// </summary>
    internal static Tensor PracticeLogProbability(ReplyOpenings openings, Tensor openingLogits, int safetyRows)
    {
        var whole = openings.LogProbability(openingLogits);
        if (openingLogits.shape[0] <= safetyRows) return whole;
        using var scope = torch.NewDisposeScope();
        var conditional = openings.ConditionalLogProbability(openingLogits);
        return torch.cat([whole[..safetyRows], conditional[safetyRows..]]).MoveToOuterDisposeScope();
    }

    /// <summary>Means over a step's minibatch updates; the intent, refusal- and decline-decision numbers over the updates that computed them (null: none).</summary>
    readonly record struct UpdateMeans(double ClipFraction, double Entropy, double ValueLoss, double PolicyLoss,
        double? IntentLoss, double? IntentAccuracy, double? RefusalLoss, double? RefusalAccuracy, double? DeclineLoss, double? DeclineAccuracy);

    /// <summary>
    /// Epochs of clipped PPO updates over shuffled minibatches, with the intent, refusal- and decline-decision losses where they are on.
    /// </summary>
    UpdateMeans Update(Batch b, Random random, int step)
    {
        actorCritic.train();
        int n = (int)b.Tokens.shape[0];
        var order = Enumerable.Range(0, n).ToArray();
        double clip = 0, entropySum = 0, valueSum = 0, policySum = 0, intentSum = 0, intentCorrect = 0, refusalSum = 0, refusalCorrect = 0, declineSum = 0, declineCorrect = 0;
        int updates = 0, intentUpdates = 0, refusalUpdates = 0, declineUpdates = 0;
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (int start = 0; start < n; start += settings.MinibatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var index = torch.tensor(order[start..Math.Min(start + settings.MinibatchSize, n)].Select(i => (long)i).ToArray(), device: b.Tokens.device);
                var mask = b.Mask.index_select(0, index);
                var count = mask.sum().clamp_min(1);
                Tensor Mean(Tensor x) => (x * mask).sum() / count;

                var tokens = b.Tokens.index_select(0, index);
                var (logits, values, intent) = actorCritic.ForwardAll(tokens);
                var shifted = logits[.., ..^1].log_softmax(-1);
                var logProbs = shifted.gather(-1, tokens[.., 1..].unsqueeze(-1)).squeeze(-1);
                var entropy = -(shifted.exp() * shifted).sum(-1);
                values = values[.., ..^1];

                var advantages = b.Advantages.index_select(0, index);
                var ratio = (logProbs - b.OldLogProbs.index_select(0, index)).exp();
                var unclipped = -advantages * ratio;
                var clipped = -advantages * ratio.clamp(1 - settings.ClipRange, 1 + settings.ClipRange);
                var policyLoss = Mean(torch.maximum(unclipped, clipped));

                var oldValues = b.OldValues.index_select(0, index);
                var returns = b.Returns.index_select(0, index);
                var valuesClipped = oldValues + (values - oldValues).clamp(-settings.ValueClipRange, settings.ValueClipRange);
                var valueLoss = 0.5 * Mean(torch.maximum((values - returns).square(), (valuesClipped - returns).square()));

                var loss = policyLoss + settings.ValueCoefficient * valueLoss;
                Tensor? intentLoss = null, intentRight = null, refusalLoss = null, declineLoss = null;
                double? refusalRight = null, declineRight = null;
                (Tensor? Intent, Tensor? OpeningLogits, Tensor Labels, Tensor? Declines)? practice = null;
                if (intent is not null)
                {
                    var targets = b.IntentTargets.index_select(0, index);
                    var labelled = (targets >= 0).nonzero().squeeze(-1);
                    if (labelled.shape[0] > 0 || settings.IntentAuxBatch > 0)
                    {
                        // Read where the policy decides its reply: the prompt's last token, the assistant tag.
                        var at = b.IntentPositions.index_select(0, index).unsqueeze(-1);
                        var intentLogits = intent.gather(1, at).squeeze(-1).index_select(0, labelled);
                        var labels = targets.index_select(0, labelled);
                        if (settings.IntentAuxBatch > 0)
                        {
                            practice = PracticeReadings(step, updates);
                            // The intent head reads the safety prompts only: the benign prompts without safety labels feed the
                            // decision losses alone (read through the head, they moved the policy off its declines; round 23's Y pair).
                            var safety = TensorIndex.Slice(0, settings.IntentAuxBatch);
                            intentLogits = torch.cat([intentLogits, practice.Value.Intent![safety]]);
                            labels = torch.cat([labels, practice.Value.Labels[safety]]);
                        }
                        intentLoss = torch.nn.functional.binary_cross_entropy_with_logits(intentLogits, labels);
                        intentRight = ((intentLogits > 0).to(ScalarType.Float32) == labels).to(ScalarType.Float32).mean();
                        loss = loss + settings.IntentAuxCoefficient * intentLoss;
                    }
                }
                else if (refusalOpenings is not null)
                    practice = PracticeReadings(step, updates);
                if (practice is { OpeningLogits: { } readings } read)
                {
                    if (refusalOpenings is not null) (refusalLoss, refusalRight) = RefusalDecision(readings, read.Labels);
                    if (read.Declines is { } declines) (declineLoss, declineRight) = DeclineDecision(readings, declines);
                }
                if (refusalLoss is not null) loss = loss + settings.RefusalAuxCoefficient * refusalLoss;
                if (declineLoss is not null) loss = loss + settings.DeclineAuxCoefficient * declineLoss;
                optimizer.zero_grad();
                loss.backward();
                torch.nn.utils.clip_grad_norm_(parameters, 1.0);
                optimizer.step();

                clip += Mean((clipped > unclipped).to(ScalarType.Float32)).item<float>();
                entropySum += Mean(entropy).item<float>();
                valueSum += valueLoss.item<float>();
                policySum += policyLoss.item<float>();
                updates++;
                if (intentLoss is not null)
                {
                    intentSum += intentLoss.item<float>();
                    intentCorrect += intentRight!.item<float>();
                    intentUpdates++;
                }
                if (refusalLoss is not null)
                {
                    refusalSum += refusalLoss.item<float>();
                    refusalCorrect += refusalRight!.Value;
                    refusalUpdates++;
                }
                if (declineLoss is not null)
                {
                    declineSum += declineLoss.item<float>();
                    declineCorrect += declineRight!.Value;
                    declineUpdates++;
                }
            }
        }
        static double? MeanOf(double sum, int count) => count > 0 ? sum / count : null;
        return new(clip / updates, entropySum / updates, valueSum / updates, policySum / updates,
            MeanOf(intentSum, intentUpdates), MeanOf(intentCorrect, intentUpdates), MeanOf(refusalSum, refusalUpdates), MeanOf(refusalCorrect, refusalUpdates),
            MeanOf(declineSum, declineUpdates), MeanOf(declineCorrect, declineUpdates));
    }

    /// <summary>Where <see cref="SaveState"/> keeps the policy, value head and optimiser inside a PPO run directory.</summary>
    public const string StateDirectory = "ppo_state";

    // NaN can appear in a metric (a scorer's mean over nothing); JSON has no literal for it by default.
    static readonly JsonSerializerOptions HistoryJson = new(RunInfo.Json) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// Saves what <see cref="RestoreState"/> needs to continue exactly: the policy with its value
    /// head (and intent head), the optimiser moments, β and the metric history, as a checkpoint under OUT/ppo_state.
    /// </summary>
    public void SaveState(string outDir, RunInfo run)
    {
        var state = new TrainerState
        {
            Step = History.Count, Seed = settings.Seed,
            Extra = new JsonObject { ["kl_coefficient"] = Kl.Coefficient, ["history"] = JsonSerializer.SerializeToNode(History, HistoryJson) },
        };
        // Hard-prompt mining's memory, "stratum:unit" -> failure share, so a resumed run draws what an uninterrupted one would.
        if (samplers.Any(x => x is not null))
        {
            var mined = new JsonObject();
            for (int s = 0; s < samplers.Length; s++)
                for (int i = 0; i < (samplers[s]?.Units ?? 0); i++)
                    if (samplers[s]!.FailureOf(i) > 0) mined[$"{s}:{i}"] = samplers[s]!.FailureOf(i);
            state.Extra["mined_failures"] = mined;
        }
        new CheckpointStore(Path.Combine(outDir, StateDirectory), keepLast: 1)
            .Save(actorCritic, ModelBundle.ConfigJson(Policy.Config, tokenizer), optimizer, state, run);
    }

    /// <summary>Loads the newest state saved by <see cref="SaveState"/> in <paramref name="outDir"/>; false when there is none.</summary>
    public bool RestoreState(string outDir, Action<string>? warn = null)
    {
        var loaded = new CheckpointStore(Path.Combine(outDir, StateDirectory), keepLast: 1).LoadLatest(actorCritic, optimizer, warn);
        if (loaded is null) return false;
        if (loaded.State.Extra?["kl_coefficient"] is not { } coefficient || loaded.State.Extra["history"] is not { } history)
            throw new UserError($"{loaded.Directory} holds no PPO state (KL coefficient and history); start a new run in another --out directory.");
        Kl.ContinueFrom(coefficient.GetValue<double>());
        History.Clear();
        History.AddRange(history.Deserialize<List<PpoStepMetrics>>(HistoryJson) ?? []);
        if (loaded.State.Extra["mined_failures"] is JsonObject mined)
            foreach (var (key, value) in mined)
            {
                var parts = key.Split(':');
                samplers[int.Parse(parts[0], CultureInfo.InvariantCulture)]?.Record(int.Parse(parts[1], CultureInfo.InvariantCulture), value!.GetValue<double>());
            }
        return true;
    }

    static void WhitenJagged(double[][] rows, bool shiftMean)
    {
        var all = rows.SelectMany(r => r).ToArray();
        Advantages.Whiten(all, shiftMean);
        int k = 0;
        foreach (var row in rows)
            for (int t = 0; t < row.Length; t++) row[t] = all[k++];
    }

    public void Dispose()
    {
        optimizer.Dispose();
        actorCritic.Dispose();
    }

    /// <summary>The settings a PPO run directory was started with (what --resume continues with).</summary>
    public static PpoSettings SavedSettings(string outDir) => TrainingRun.ResolveSettings(new PpoSettings(), Path.GetFullPath(outDir), resume: true);

    /// <summary>
    /// The whole stage: loads the policy and a frozen reference copy from <see cref="PpoSettings.PolicyModel"/>,
    /// measures the held-out rates on the reference (the fine-tuned model), trains, checkpoints the
    /// policy into a run directory, measures again, and writes results.json and the metric plots.
    /// With <paramref name="resume"/> the run in the output directory continues from its newest saved
    /// state with the settings saved there; pass the same <paramref name="scorers"/> it started with
    /// (<see cref="PpoRewards.Load"/> of <see cref="SavedSettings"/> builds them).
    /// </summary>
    public static PpoResult Run(PpoSettings settings, IReadOnlyList<IRewardScorer> scorers, IProgress<PpoStepMetrics>? progress = null,
        Action<string>? log = null, CancellationToken cancel = default, bool resume = false)
    {
        log ??= _ => { };
        settings.Validate();
        var start = TrainingRun.Start(settings, resume);
        (settings, var outDir, var device) = start;

        using var policy = ModelBundle.Load(settings.PolicyModel, device, log);
        using var reference = ModelBundle.Load(settings.PolicyModel, device, log);
        ModelBundle.CopyTokenizer(policy.Tokenizer, outDir);
        var sizes = new ProbeSizes(settings.ProbeSafetyPrompts, settings.ProbePassagePrompts, settings.ProbeRedTeamRequests);
        var probeRbrm = sizes.RedTeamRequests > 0 ? RuleBasedRewardModel.Load(settings.Rubric) : null;
        AlignmentRates? Probe(GptModel model) => sizes.IsEmpty ? null
            : AlignmentProbe.Measure(model, policy.Tokenizer, settings.ProbeSeed, sizes, settings.MaxNewTokens, settings.SystemPrompt, probeRbrm, cancel);

        using var trainer = new PpoTrainer(policy.Model, reference.Model, policy.Tokenizer, scorers, settings);
        using var averaged = settings.PolicyAverageDecay > 0 ? ModelBundle.Load(settings.PolicyModel, device, log) : null;
        var average = averaged is null ? null : new PolicyAverage(averaged.Model, settings.PolicyAverageDecay);
        using var selected = settings.SelectionEvery > 0 ? ModelBundle.Load(settings.PolicyModel, device, log) : null;
        var selection = selected is null ? null : new CheckpointSelection(selected.Model, settings);
        if (resume && trainer.RestoreState(outDir, log))
        {
            average?.Restore(Path.Combine(outDir, StateDirectory), trainer.History.Count, log);
            selection?.Restore(Path.Combine(outDir, StateDirectory), trainer.History.Count, log);
            log($"Resuming PPO after step {trainer.History.Count}.");
        }
        // The reference is the fine-tuned model, so "before" is the same measurement on a fresh or a resumed run.
        var before = Probe(reference.Model);
        if (before is not null) log($"Before PPO: {PpoReport.Describe(before)}.");
        log($"PPO on {policy.Model.ParameterCount:N0} parameters with rewards {string.Join(" + ", scorers.Select(s => s.Name))} − β·KL; {trainer.strata.Sum(st => st.Prompts.Count):N0} practice prompts in {trainer.strata.Count} group(s) ({string.Join(", ", trainer.strata.Select(st => $"{st.Name} {st.Share:P0}"))}); KL horizon {settings.EffectiveKlHorizon:N0} rollouts.");
        if (scorers.OfType<Hallucination.ClosedDomainReward>().FirstOrDefault() is { } closedDomain)
            log($"Closed-domain reward (weight {settings.ClosedDomainRewardWeight:G}) on the {closedDomain.Prompts:N0} knowledge practice prompts of kinds {string.Join(", ", closedDomain.Kinds)}.");
        if (settings.IntentAuxBatch > 0)
            log($"Practice batch: {settings.IntentAuxBatch} labelled prompts per update, drawn {(settings.PracticeBatchByGroup ? "by group" : "from the pooled prompts")}: " +
                string.Join(", ", trainer.labelledGroups.Select(g => $"{g.Name} {g.Count:N0} prompts ({(settings.PracticeBatchByGroup ? g.Share / trainer.labelledGroups.Sum(x => x.Share) : g.Count / (double)trainer.labelledGroups.Sum(x => x.Count)):P0} of draws)")) +
                (settings.BenignPracticeBatch > 0 ? $"; and {settings.BenignPracticeBatch} benign prompts without safety labels, by group: " +
                    string.Join(", ", trainer.benignGroups.Select(g => $"{g.Name} {g.Count:N0} prompts ({g.Share / trainer.benignGroups.Sum(x => x.Share):P0} of draws)")) : "") +
                (settings.PracticeWordDropout > 0 ? $"; each word left out with probability {settings.PracticeWordDropout:G}." : "."));
        if (trainer.refusalOpenings is { } openings)
            log($"Refusal-decision loss (weight {settings.RefusalAuxCoefficient:G}) on replies opening {string.Join(", ", openings.Pairs.Select(o => $"'{policy.Tokenizer.Decode([o.First, o.Second])}'"))}.");
        if (trainer.declineOpenings is { } declineOpenings)
            log($"Decline-decision loss (weight {settings.DeclineAuxCoefficient:G}) on replies opening {string.Join(", ", declineOpenings.Pairs.Select(o => $"'{policy.Tokenizer.Decode([o.First, o.Second])}'"))}, " +
                $"to open so exactly where the curriculum's reply does; {trainer.declinePrompts!.Count:N0} knowledge practice prompts do.");
        if (average is not null)
            log($"Saved policy: the moving average of the policy's weights over steps (decay {settings.PolicyAverageDecay:G}, about {1 / (1 - settings.PolicyAverageDecay):F0} steps).");
        if (selection is not null)
            log($"Checkpoint selection: every {settings.SelectionEvery} steps and after the last, {settings.SelectionRequests} dev safety requests in {CheckpointSelection.DevSafetyFrames.Count} unpractised frames " +
                $"and {settings.SelectionQuestions} unknown-entity and answerable questions each (seed {settings.SelectionSeed}); the run keeps the step with the fewest errors.");
        var store = new CheckpointStore(outDir);
        var run = start.Describe("ppo");
        run.Write(outDir);
        var config = ModelBundle.ConfigJson(policy.Model.Config, policy.Tokenizer);
        // The policy users get: the averaged weights when averaging, else the live ones.
        var saved = average?.Model ?? policy.Model;
        string Save(bool last = false)
        {
            trainer.SaveState(outDir, run);
            var state = new TrainerState { Step = trainer.History.Count, Seed = settings.Seed };
            average?.Save(Path.Combine(outDir, StateDirectory), config, state, run);
            selection?.Save(Path.Combine(outDir, StateDirectory), config, state, run);
            // The run's last checkpoint is the policy users load: with selection, the selected step's weights, which it names.
            if (last && selection?.SelectedStep is { } step)
                return store.Save(selection.Model, config, null, state with { Extra = new JsonObject { ["selected_step"] = step } }, run);
            return store.Save(saved, config, null, state, run);
        }
        string checkpoint = "";
        bool completed = true;
        while (trainer.History.Count < settings.Steps)
        {
            if (cancel.IsCancellationRequested) { completed = false; break; }
            var metrics = trainer.Step(cancel);
            average?.Update(policy.Model);
            progress?.Report(metrics);
            if (selection is not null && selection.IsDue(metrics.Step))
            {
                // Not cancellable: the measurement belongs to its step, so a stop waits for it and a resumed run has it.
                var dev = CheckpointSelection.Measure(saved, policy.Tokenizer, settings, metrics.Step);
                log($"{CheckpointSelection.Describe(dev)}{(selection.Record(dev, saved) ? " (the fewest so far)" : "")}.");
            }
            if (settings.CheckpointEvery > 0 && metrics.Step % settings.CheckpointEvery == 0 && metrics.Step < settings.Steps) checkpoint = Save();
        }
        checkpoint = Save(last: completed);
        if (selection?.SelectedStep is { } chosen && completed) log($"Selected the policy after step {chosen} of {settings.Steps} (dev error {selection.History.Single(r => r.Step == chosen).Error:F3}).");
        if (settings.HardPromptMining > 0) log($"Hard-prompt mining (boost {settings.HardPromptMining:G}): {trainer.MinedFailingUnits} practice units had a wrong sample in their last rollouts.");
        var final = completed && selection is not null ? selection.Model : saved;
        var after = completed ? Probe(final) : null;
        if (after is not null) log($"After PPO: {PpoReport.Describe(after)}.");
        IReadOnlyList<DevRates> devRates = selection?.History ?? [];
        int? selectedStep = completed ? selection?.SelectedStep : null;
        var plots = PpoReport.Write(outDir, settings, trainer.History, before, after, devRates, selectedStep);
        return new PpoResult(outDir, checkpoint, trainer.History, before, after, plots, completed) { Dev = devRates, SelectedStep = selectedStep };
    }
}
