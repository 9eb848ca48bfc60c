using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Stages;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>What a PPO run is asked to do; saved as OUT/settings.json. Defaults follow Ziegler et al. (2019) and TRL, scaled down for small models.</summary>
public sealed record PpoSettings : IStageSettings<PpoSettings>
{
    public const string DefaultSystemPrompt = "You are a helpful assistant.";

    /// <summary>The fine-tuned model that starts the policy and stays frozen as the KL reference.</summary>
    public string PolicyModel { get; init; } = "runs/sft";
    public string OutDirectory { get; init; } = "runs/ppo";
    /// <summary>Reward-model run directories (`rm train`); their normalised scores are added to the other scorers'.</summary>
    public IReadOnlyList<string> RewardModels { get; init; } = [];
    /// <summary>
    /// Multiplies each learned reward model's normalised score before it is added to the other rewards
    /// (1: as trained). Below 1 the rule-based reward model's judgement of refusals weighs more.
    /// </summary>
    public double RewardModelWeight { get; init; } = 1.0;
    /// <summary>
    /// Add the rule-based reward model's reward. <see cref="PpoTrainer.Run"/> takes its scorers
    /// from the caller; this and <see cref="Rubric"/> record them so <see cref="PpoRewards.Load"/>
    /// can rebuild the same reward for --resume.
    /// </summary>
    public bool RuleBasedReward { get; init; }
    /// <summary>
    /// Weight of the closed-domain reward (<see cref="Hallucination.ClosedDomainReward"/>; 0, the default, is off): on the
    /// knowledge family's practice prompts the family's checker rewards a right answer or a due decline (+1), a decline of
    /// an answerable question (0) and anything else (−1), times this. Needs the knowledge family in <see cref="Families"/>.
    /// </summary>
    public double ClosedDomainRewardWeight { get; init; }
    /// <summary>
    /// The kinds of knowledge question the closed-domain reward judges (<see cref="KnowledgeFamily.QuestionKinds"/>,
    /// the default, is all of them); the others get 0 from it. "passage,passage_unanswerable" keeps it to the reference passages,
    /// so declining an answerable closed-book question is no longer a safe 0 against a wrong answer's −1.
    /// </summary>
    public IReadOnlyList<string> ClosedDomainRewardKinds { get; init; } = KnowledgeFamily.QuestionKinds;
    /// <summary>Rubric JSON for the rule-based reward model and the red-team probe's classifier (null: the built-in rubric).</summary>
    public string? Rubric { get; init; }
    /// <summary>Curriculum families whose training-split prompts PPO practises on.</summary>
    public IReadOnlyList<string> Families { get; init; } = ["safety", "knowledge"];
    /// <summary>Training-split items drawn from each family to make the prompt pool.</summary>
    public int PromptsPerFamily { get; init; } = 1000;
    /// <summary>
    /// Share of the safety requests PPO practises on, those fine-tuning left out (<see cref="Curriculum.Safety.SafetyFamily.IsReservedForPractice"/>;
    /// give the fine-tuning run the same share). 0, the default, practises on every training-split safety request.
    /// </summary>
    public double SafetyPracticeReserve { get; init; }
    /// <summary>
    /// Draw each practice prompt family by family and, inside a family, kind by kind (safety: harmful
    /// or benign look-alike; knowledge: closed-book question, passage, ...), each in equal shares,
    /// instead of uniformly from the pooled distinct prompts. Without it, what PPO practises follows how
    /// many distinct prompts each family happens to have (harmful requests were about a fifth of the
    /// default pool); with it, safety and knowledge, and harmful requests and their benign look-alikes,
    /// get fixed equal shares whatever the pool sizes.
    /// </summary>
    public bool BalancePrompts { get; init; } = true;
    /// <summary>
    /// How the safety practice prompts are worded: as the curriculum words them, or each training-split
    /// request re-asked in several sentence frames and wrappers (<see cref="PracticeFraming"/>), so PPO
    /// also practises on wordings the fine-tuned model was not taught; or each topic × intent request paired with
    /// its look-alike of the other intent in the same frame, both in the same step (contrastive). Held-out and dev
    /// frames are never used. Contrastive needs <see cref="BalancePrompts"/>, which keeps a pair together.
    /// </summary>
    public PromptFraming PromptFraming { get; init; } = PromptFraming.Curriculum;
    public string SystemPrompt { get; init; } = DefaultSystemPrompt;
    public int Steps { get; init; } = 40;
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Completions sampled per prompt in one batched decode.</summary>
    public int SamplesPerPrompt { get; init; } = 4;
    public int MaxNewTokens { get; init; } = 48;
    /// <summary>Passes over each batch of rollouts.</summary>
    public int Epochs { get; init; } = 4;
    public int MinibatchSize { get; init; } = 8;
    /// <summary>
    /// 1e-5: at 5e-5 the pipeline's runs (4 epochs over 32 rollouts of a 2M-parameter model) clipped
    /// 20–30 % of the ratios and drifted to 11–16 nats of KL; at 1e-5 the clip fraction stays near 0.05.
    /// </summary>
    public double LearningRate { get; init; } = 1e-5;
    public double ClipRange { get; init; } = 0.2;
    public double ValueClipRange { get; init; } = 0.2;
    public double ValueCoefficient { get; init; } = 0.1;
    public double Gamma { get; init; } = 1.0;
    public double Lambda { get; init; } = 0.95;
    public double InitialKlCoefficient { get; init; } = 0.1;
    /// <summary>Per-sequence KL (nats) the adaptive controller steers towards.</summary>
    public double KlTarget { get; init; } = 6.0;
    /// <summary>
    /// Rollouts over which the adaptive controller may move β by 20 % (Ziegler et al. use 10,000 in
    /// runs of hundreds of thousands of rollouts). 0 (the default) takes a tenth of this run's
    /// rollouts (<see cref="EffectiveKlHorizon"/>), so β can follow the KL in a run of any length.
    /// </summary>
    public double KlHorizon { get; init; }
    /// <summary>Fraction of the run's rollouts used as the KL horizon when <see cref="KlHorizon"/> is 0.</summary>
    public const double AutoKlHorizonFraction = 0.1;
    /// <summary>The KL horizon in rollouts: <see cref="KlHorizon"/>, or a tenth of Steps × PromptsPerStep × SamplesPerPrompt when it is 0.</summary>
    public double EffectiveKlHorizon => KlHorizon > 0 ? KlHorizon : Math.Max(1.0, AutoKlHorizonFraction * Steps * PromptsPerStep * SamplesPerPrompt);
    /// <summary>
    /// Subtract from each reply's score the mean score of the other replies to the same prompt
    /// (the leave-one-out baseline of RLOO, Ahmadian et al. 2024) before the KL penalty and GAE.
    /// The learned reward model only ranks replies to one prompt; its level differs between prompts,
    /// and a value head that cannot yet tell prompts apart turns that level into advantages: the
    /// best reply to a low-scoring prompt (a refusal of a harmful request) is then pushed down.
    /// </summary>
    public bool GroupBaseline { get; init; } = true;
    /// <summary>
    /// With <see cref="GroupBaseline"/>, baseline a reward that means the same on every prompt (the rule-based reward)
    /// over the whole drawing unit, a contrastive pair's replies together, instead of per prompt. Off, each prompt's
    /// replies are compared only with each other, as for the learned reward (an ablation of contrastive practice).
    /// </summary>
    public bool PairBaseline { get; init; } = true;
    /// <summary>
    /// Hard-prompt mining (0, the default, is off): within each group of safety practice prompts, a drawing unit is drawn
    /// with weight 1 + this × the share of its samples that went wrong in its last rollouts (a harmful request answered,
    /// a benign look-alike refused), so steps go more often to prompts the policy still gets wrong while every prompt
    /// stays drawable (<see cref="HardPromptSampler"/>). Groups without safety labels (knowledge) are drawn uniformly.
    /// </summary>
    public double HardPromptMining { get; init; }
    /// <summary>
    /// Weight of an auxiliary intent loss (0, the default, is off): a second scalar head on the policy's trunk, read at the
    /// assistant tag that ends each safety practice prompt, learns with binary cross-entropy whether the request is harmful,
    /// and its loss times this is added to every PPO update (an auxiliary task, as in Jaderberg et al. 2016, "UNREAL"), so the
    /// shared trunk is pushed to represent the intent the reward asks the policy to act on. Prompts without a harmful/benign
    /// label (knowledge, passages) add nothing. The head, like the value head, is not part of the saved policy.
    /// </summary>
    public double IntentAuxCoefficient { get; init; }
    /// <summary>
    /// Labelled practice prompts added to the intent loss of every minibatch update (0, the default: only the step's rollouts).
    /// With N, each update also reads the intent head at the assistant tag of N safety practice prompts drawn (with replacement,
    /// from a generator seeded by seed, step and update) from every practice group with harmful/benign labels, the pool PPO
    /// practises on (never held-out or dev frames), and the intent loss becomes the mean cross-entropy over the rollouts' labels
    /// and these together, so the head sees thousands of distinct requests instead of a step's few. Policy and value losses are unchanged.
    /// </summary>
    public int IntentAuxBatch { get; init; }
    /// <summary>
    /// Draw the practice batch (<see cref="IntentAuxBatch"/>) group by group in the shares the rollouts use (contrastive pairs,
    /// the family's fixed harmful requests, its fixed benign look-alikes), then uniformly inside the group, instead of uniformly
    /// from the pooled labelled prompts, where the fixed requests are a few percent beside thousands of worded pairs.
    /// </summary>
    public bool PracticeBatchByGroup { get; init; }
    /// <summary>
    /// Prompts from the practice groups without safety labels (the knowledge family's questions, passages and unknown-entity
    /// questions) added to every practice batch as benign for the refusal-decision loss (0, the default: none; needs
    /// <see cref="IntentAuxBatch"/> and <see cref="RefusalAuxCoefficient"/>), drawn group by group in the rollouts' shares; the
    /// intent head keeps reading the safety prompts alone (fed to it as well, they moved the policy off its declines). Without
    /// them the refusal-decision loss sees only safety requests and their look-alikes, and the refusal it trains up spreads to
    /// closed-domain questions that share no topic with them (rounds 18–21: "Which river runs through X?" answered with the
    /// fraud refusal); with them, a refusal opening is trained down there too,
    /// given the reply's first token only (<see cref="ReplyOpenings.ConditionalLogProbability"/>), since a decline ("I don't
    /// know of any town called …") opens with the same "I" as a refusal and must not be pushed down with it. Results:
    /// docs/alignment-rounds.md, rounds 22–24.
    /// </summary>
    public int BenignPracticeBatch { get; init; }
    /// <summary>
    /// Share of the practice batch's safety draws (<see cref="IntentAuxBatch"/>, drawn by group) given to requests about the hazards
    /// family's concepts (<see cref="ConceptRequests"/>; 0, the default, is off): "Help me with a land mine." labelled harmful, "Help
    /// me with a smoke alarm." benign, for the intent and refusal-decision losses alone (the rollouts are unchanged). Concepts that a
    /// held-out safety request covers are left out; harmful and harmless concepts get equal halves of the share. For a base pretrained
    /// with the hazards family, whose knowledge the refusal can then rest on.
    /// </summary>
    public double ConceptPracticeShare { get; init; }
    /// <summary>
    /// Weight C of the decline-decision loss (0, the default, is off; needs <see cref="BenignPracticeBatch"/>): on the benign
    /// practice prompts of the knowledge family, C × the binary cross-entropy of the reply opening like a decline
    /// (<see cref="ReplyOpenings.Declines"/>: "I don't know of any …", and "The passage does not say." where its opening opens no
    /// answer) against whether the curriculum's reply to the prompt opens so (the world leaves the question unanswered). The
    /// closed-domain counterpart of <see cref="RefusalAuxCoefficient"/>: a supervised term beside the PPO loss, on training-split
    /// prompts only, for the choice the closed-domain reward judges a few dozen times in a run. Results: docs/alignment-rounds.md, round 26.
    /// </summary>
    public double DeclineAuxCoefficient { get; init; }
    /// <summary>
    /// Probability that a word of a practice-batch prompt (<see cref="IntentAuxBatch"/>) is left out before the intent and
    /// refusal-decision losses read it (<see cref="WordDropout"/>; 0, the default, is off). Labels are kept, so a request must be
    /// recognised from part of its wording; the rollouts' prompts are never changed.
    /// </summary>
    public double PracticeWordDropout { get; init; }
    /// <summary>
    /// Decay d of an exponential moving average of the policy's weights over PPO steps (<see cref="PolicyAverage"/>; 0, the
    /// default, is off): the saved policy and the after-probe are the average, the rollouts and updates the live policy. About
    /// 1 / (1 − d) steps are averaged; a third copy of the policy's weights is kept.
    /// </summary>
    public double PolicyAverageDecay { get; init; }
    /// <summary>
    /// Weight of an auxiliary refusal-decision loss (0, the default, is off; needs <see cref="IntentAuxBatch"/>). Where the intent
    /// loss shapes the trunk and leaves the policy to act on it through the reward, this one trains the decision itself on the
    /// practice batch: the probability that the reply opens like a refusal (<see cref="ReplyOpenings"/>: the two-token openings of
    /// the curriculum's refusals that open none of its helpful answers) is pushed up for harmful requests and down for benign ones
    /// with binary cross-entropy. A supervised term beside the PPO loss, as InstructGPT's PPO-ptx mixes in supervised gradients;
    /// the rest of the reply is left to the reward.
    /// </summary>
    public double RefusalAuxCoefficient { get; init; }
    /// <summary>
    /// Checkpoint selection on dev prompts (<see cref="CheckpointSelection"/>; 0, the default, is off): every N steps and after the
    /// last, the saved policy answers <see cref="SelectionRequests"/> dev safety requests and <see cref="SelectionQuestions"/> dev
    /// knowledge questions of each kind, and the run ends with the weights of the step with the fewest errors on them; the
    /// after-probe measures those weights. A fourth copy of the policy's weights is kept.
    /// </summary>
    public int SelectionEvery { get; init; }
    /// <summary>Training-split topic × intent requests the selection asks in the dev and shape-dev frames (about half harmful).</summary>
    public int SelectionRequests { get; init; } = 100;
    /// <summary>Training-split unknown-entity questions, and as many answerable ones, the selection asks.</summary>
    public int SelectionQuestions { get; init; } = 100;
    /// <summary>Seed of the selection's dev prompts; it must differ from <see cref="Seed"/>, whose knowledge stream makes the practice pool.</summary>
    public long SelectionSeed { get; init; } = 97;
    /// <summary>Scale per-token rewards to unit spread over the batch (mean kept) before GAE.</summary>
    public bool WhitenRewards { get; init; } = true;
    public int CheckpointEvery { get; init; } = 0;
    /// <summary>Held-out safety prompts for the before/after probe (0 skips the probe).</summary>
    public int ProbeSafetyPrompts { get; init; } = 200;
    public int ProbePassagePrompts { get; init; } = 100;
    /// <summary>Held-out safety requests the red-team probe wraps four ways each (paraphrase, role play, two turns, Chinese).</summary>
    public int ProbeRedTeamRequests { get; init; } = 40;
    public long Seed { get; init; } = 1234;
    /// <summary>
    /// Seed of the before/after probes' sample of held-out prompts. Kept apart from <see cref="Seed"/> so that runs that differ
    /// only in their training seed are measured on the same prompts, and a seed-to-seed spread is the training's alone.
    /// </summary>
    public long ProbeSeed { get; init; } = 1234;
    public string Device { get; init; } = "auto";

    public PpoSettings Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new UserError($"Invalid PPO setting: {what}."); }
        Require(Steps >= 1, $"steps must be positive (got {Steps})");
        Require(PromptsPerStep >= 1 && SamplesPerPrompt >= 1, $"prompts per step and samples per prompt must be positive (got {PromptsPerStep} and {SamplesPerPrompt})");
        Require(!GroupBaseline || SamplesPerPrompt >= 2, $"the per-prompt baseline needs at least 2 samples per prompt (got {SamplesPerPrompt}); sample more, or turn the group baseline off");
        Require(MaxNewTokens >= 1, $"max new tokens must be positive (got {MaxNewTokens})");
        Require(Epochs >= 1 && MinibatchSize >= 1, $"epochs and minibatch size must be positive (got {Epochs} and {MinibatchSize})");
        Require(RewardModelWeight >= 0 && double.IsFinite(RewardModelWeight), $"the reward-model weight must be 0 or more (got {RewardModelWeight})");
        Require(ClosedDomainRewardWeight >= 0 && double.IsFinite(ClosedDomainRewardWeight), $"the closed-domain reward's weight must be 0 or more (got {ClosedDomainRewardWeight})");
        Require(ClosedDomainRewardWeight == 0 || Families.Contains("knowledge"), "the closed-domain reward judges the knowledge family's practice prompts; add knowledge to the families or set its weight to 0");
        Require(ClosedDomainRewardKinds.Count > 0 && ClosedDomainRewardKinds.All(KnowledgeFamily.QuestionKinds.Contains), $"the closed-domain reward's kinds must be one or more of {string.Join(", ", KnowledgeFamily.QuestionKinds)} (got '{string.Join(",", ClosedDomainRewardKinds)}')");
        Require(LearningRate > 0, $"learning rate must be positive (got {LearningRate})");
        Require(ClipRange > 0 && ValueClipRange > 0, "clip ranges must be positive");
        Require(Gamma is > 0 and <= 1 && Lambda is >= 0 and <= 1, $"gamma must be in (0, 1] and lambda in [0, 1] (got {Gamma} and {Lambda})");
        Require(KlHorizon >= 0 && double.IsFinite(KlHorizon), $"the KL horizon must be 0 (a tenth of the run's rollouts) or a positive number of rollouts (got {KlHorizon})");
        Require(Families.Count > 0 && PromptsPerFamily >= 1, "give at least one curriculum family for prompts and a positive pool size");
        Require(SafetyPracticeReserve is >= 0 and < 1, $"the safety practice reserve must be a share from 0 (every training-split request) up to but not including 1 (got {SafetyPracticeReserve})");
        Require(PromptFraming != PromptFraming.Contrastive || BalancePrompts, "contrastive prompt framing draws each request with its look-alike and needs balanced prompts; turn --balance-prompts on or use another framing");
        Require(ProbeSafetyPrompts >= 0 && ProbePassagePrompts >= 0 && ProbeRedTeamRequests >= 0, "probe sizes must be 0 or more");
        Require(HardPromptMining >= 0 && double.IsFinite(HardPromptMining), $"the hard-prompt mining boost must be 0 (off) or a positive number (got {HardPromptMining})");
        Require(IntentAuxCoefficient >= 0 && double.IsFinite(IntentAuxCoefficient), $"the intent auxiliary loss weight must be 0 (off) or a positive number (got {IntentAuxCoefficient})");
        Require(RefusalAuxCoefficient >= 0 && double.IsFinite(RefusalAuxCoefficient), $"the refusal-decision loss weight must be 0 (off) or a positive number (got {RefusalAuxCoefficient})");
        Require(!PracticeBatchByGroup || IntentAuxBatch > 0, "drawing the practice batch by group needs a practice batch; give --intent-aux-batch N");
        Require(PracticeWordDropout is >= 0 and < 1, $"the practice word dropout must be a probability from 0 (off) up to but not including 1 (got {PracticeWordDropout})");
        Require(PolicyAverageDecay is >= 0 and < 1, $"the policy average's decay must be from 0 (off) up to but not including 1 (got {PolicyAverageDecay})");
        Require(BenignPracticeBatch >= 0 && (BenignPracticeBatch == 0 || IntentAuxBatch > 0 && RefusalAuxCoefficient > 0), $"the benign practice batch must be 0 (off) or a positive number of prompts added to the refusal-decision loss's practice batch (--refusal-aux and --intent-aux-batch) (got {BenignPracticeBatch} with a practice batch of {IntentAuxBatch} and a refusal-decision weight of {RefusalAuxCoefficient})");
        Require(DeclineAuxCoefficient >= 0 && double.IsFinite(DeclineAuxCoefficient) && (DeclineAuxCoefficient == 0 || BenignPracticeBatch > 0), $"the decline-decision loss weight must be 0 (off) or a positive number used with a benign practice batch (--benign-practice-batch) (got {DeclineAuxCoefficient} with a benign batch of {BenignPracticeBatch})");
        Require(ConceptPracticeShare is >= 0 and < 1 && (ConceptPracticeShare == 0 || PracticeBatchByGroup), $"the concept practice share must be from 0 (off) up to but not including 1, with the practice batch drawn by group (--practice-batch-by-group) (got {ConceptPracticeShare})");
        Require(PracticeWordDropout == 0 || IntentAuxBatch > 0, "word dropout acts on the practice batch; give --intent-aux-batch N with it");
        Require(RefusalAuxCoefficient == 0 || IntentAuxBatch > 0, $"the refusal-decision loss reads the labelled practice batch; give a positive practice batch (--intent-aux-batch) with it (got {IntentAuxBatch})");
        Require(IntentAuxBatch >= 0 && (IntentAuxBatch == 0 || IntentAuxCoefficient > 0 || RefusalAuxCoefficient > 0), $"the practice batch must be 0 (off) or a positive number of prompts used with a positive intent or refusal-decision loss weight (got {IntentAuxBatch} with weights {IntentAuxCoefficient} and {RefusalAuxCoefficient})");
        Require(SelectionEvery >= 0, $"the checkpoint selection interval must be 0 (off) or a positive number of steps (got {SelectionEvery})");
        Require(SelectionEvery == 0 || SelectionRequests >= 1 && SelectionQuestions >= 1, $"checkpoint selection needs at least one dev safety request and one dev question (got {SelectionRequests} and {SelectionQuestions})");
        Require(SelectionEvery == 0 || SelectionSeed != Seed, $"the selection seed must differ from the training seed (both {Seed}), or the dev questions are the practice pool's");
        Require(CheckpointEvery >= 0, $"the checkpoint interval must be 0 or more (got {CheckpointEvery})");
        return this;
    }

    PpoSettings IStageSettings<PpoSettings>.WithOutDirectory(string outDirectory) => this with { OutDirectory = outDirectory };
}

/// <summary>
/// The numbers logged after each PPO step (names as in TRL: objective/kl, objective/reward, policy/clipfrac, policy/entropy, loss/value);
/// with <see cref="PpoSettings.IntentAuxCoefficient"/>, the intent head's mean cross-entropy and accuracy on the step's labelled rollouts (and PpoSettings.IntentAuxBatch's practice prompts with it)
/// (null without the auxiliary loss, or in a step with no safety prompt); likewise, with <see cref="PpoSettings.RefusalAuxCoefficient"/>,
/// the refusal-decision loss and the share of the practice batch whose greedy two-token opening is a refusal exactly when the request is harmful;
/// with <see cref="PpoSettings.DeclineAuxCoefficient"/>, the decline-decision loss and the share of the benign practice prompts whose greedy
/// opening is a decline exactly when the curriculum's reply opens with one.
/// </summary>
public sealed record PpoStepMetrics(
    int Step, int Steps, double Kl, double Reward, double ClipFraction, double Entropy, double ValueLoss, double PolicyLoss,
    double KlCoefficient, double ResponseLength, IReadOnlyDictionary<string, double> ScorerMeans, double Seconds,
    double? IntentLoss = null, double? IntentAccuracy = null, double? RefusalLoss = null, double? RefusalAccuracy = null,
    double? DeclineLoss = null, double? DeclineAccuracy = null);

/// <summary>A PPO run's outcome; with checkpoint selection, <see cref="Dev"/> holds every dev measurement and <see cref="SelectedStep"/> the step the saved policy is from.</summary>
public sealed record PpoResult(
    string OutDirectory, string CheckpointDirectory, IReadOnlyList<PpoStepMetrics> Steps,
    AlignmentRates? Before, AlignmentRates? After, IReadOnlyList<string> Plots, bool Completed)
{
    public IReadOnlyList<DevRates> Dev { get; init; } = [];
    public int? SelectedStep { get; init; }
}
