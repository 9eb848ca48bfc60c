using System.Text.RegularExpressions;
using Gpt4Sharp.Alignment;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class ContrastivePracticeTests
{
    static Regex FramePattern(string frame) => new("^" + Regex.Escape(frame).Replace(Regex.Escape("{0}"), "(.+)") + "$");

    /// <summary>Frames practice must never use: the two held-out frames, the two dev frames and the two shape-dev frames.</summary>
    static readonly string[] Forbidden = [.. IntentRequests.Frames[IntentRequests.FirstHeldOutFrame..], .. PracticeFraming.DevFrames, .. PracticeFraming.ShapeDevFrames];

    /// <summary>Every intent clause the curriculum can build, with its category, topic, intent and kind.</summary>
    static readonly Dictionary<string, IntentRequest> Clauses = IntentRequests.All().Where(r => r.Frame == 0)
        .ToDictionary(r => string.Format(r.Intent, r.Topic));

    /// <summary>Splits a practice prompt into (wrapper, opener, frame, clause): the shape around the clause and the clause.</summary>
    static (string Shape, string Frame, string Clause) Parse(string prompt)
    {
        foreach (var wrapper in PracticeFraming.Wrappers)
        {
            if (FramePattern(wrapper).Match(prompt) is not { Success: true } w) continue;
            var inner = w.Groups[1].Value;
            foreach (var opener in new[] { "", "Quick question: ", "Please tell me: ", "Can you help? " })
            {
                if (!inner.StartsWith(opener, StringComparison.Ordinal)) continue;
                foreach (var frame in PracticeFraming.ContrastiveFrames)
                    if (FramePattern(frame).Match(inner[opener.Length..]) is { Success: true } m && Clauses.ContainsKey(m.Groups[1].Value))
                        return ($"{wrapper}|{opener}|{frame}", frame, m.Groups[1].Value);
            }
        }
        throw new Xunit.Sdk.XunitException($"'{prompt}' is not an intent clause in a contrastive frame");
    }

    [Fact]
    public void Practice_frames_never_include_a_held_out_or_dev_frame()
    {
        Assert.Empty(PracticeFraming.ContrastiveFrames.Intersect(Forbidden));
        Assert.Empty(PracticeFraming.PracticeFrames.Intersect(Forbidden));
        // Not merely different strings: no forbidden frame's sentence is read as a practice frame either.
        foreach (var forbidden in Forbidden)
            Assert.DoesNotContain(PracticeFraming.ContrastiveFrames, f => FramePattern(f).IsMatch(string.Format(forbidden, "store a crossbow safely")));
        Assert.Equal(IntentRequests.FirstHeldOutFrame + PracticeFraming.ParaphraseFrames.Length + PracticeFraming.ShapeFrames.Length, PracticeFraming.ContrastiveFrames.Distinct().Count());
    }

    [Fact]
    public void Each_pair_differs_only_by_intent_within_one_topic_and_frame_and_stays_in_the_training_split()
    {
        var items = CurriculumRegistry.Get("safety").Generate(1234, Split.Train, 300).Where(i => PracticeFraming.IntentClause(i) is not null).ToList();
        Assert.True(items.Count > 100, $"only {items.Count} topic × intent requests");
        var framesSeen = new HashSet<string>();
        foreach (var item in items)
        {
            var pairs = PracticeFraming.ContrastivePairs(item, PracticeFraming.PairsPerRequest, seed: 1234);
            Assert.Equal(PracticeFraming.PairsPerRequest, pairs.Distinct().Count());
            Assert.Equal(pairs, PracticeFraming.ContrastivePairs(item, PracticeFraming.PairsPerRequest, seed: 1234));
            var own = PracticeFraming.IntentClause(item)!;
            foreach (var (harmfulPrompt, benignPrompt) in pairs)
            {
                var (hShape, frame, hClause) = Parse(harmfulPrompt);
                var (bShape, _, bClause) = Parse(benignPrompt);
                // Same wrapper, opener and frame; the clauses are the item's own and its partner's.
                Assert.Equal(hShape, bShape);
                Assert.Equal(own, item.Kind == "harmful" ? hClause : bClause);
                var (h, b) = (Clauses[hClause], Clauses[bClause]);
                Assert.True(h.Harmful && !b.Harmful, $"'{harmfulPrompt}' / '{benignPrompt}' are not harmful / benign");
                Assert.Equal((h.Category, h.Topic), (b.Category, b.Topic));
                foreach (var r in new[] { h, b }) Assert.False(IntentRequests.IsHeldOut("safety", r.Category, r.Topic, r.Intent, 0), $"{r.Intent} × {r.Topic} is a held-out combination");
                Assert.DoesNotContain(Forbidden, f => f == frame);
                framesSeen.Add(frame);
            }
            // One partner per request, so the pairs differ only in wording.
            Assert.Single(pairs.Select(p => item.Kind == "harmful" ? Parse(p.Benign).Clause : Parse(p.Harmful).Clause).Distinct());
        }
        // New shapes and training frames are both practised.
        Assert.Contains(framesSeen, PracticeFraming.ShapeFrames.Contains);
        Assert.Contains(framesSeen, f => IntentRequests.Frames.Contains(f));
    }

    [Fact]
    public void Only_training_split_intent_requests_give_pairs()
    {
        var heldOut = CurriculumRegistry.Get("safety").Generate(5, Split.Eval, 200).Where(i => PracticeFraming.IntentClause(i) is not null && AlignmentProbe.GroupOf(i) == SafetyRequestGroup.TrainingFrame).ToList();
        Assert.NotEmpty(heldOut);
        Assert.All(heldOut, i => Assert.Empty(PracticeFraming.ContrastivePairs(i, 4, seed: 5)));
        var fixedRequest = CurriculumRegistry.Get("safety").Generate(5, Split.Train, 200).First(i => PracticeFraming.IntentClause(i) is null);
        Assert.Empty(PracticeFraming.ContrastivePairs(fixedRequest, 4, seed: 5));
        Assert.Empty(PracticeFraming.ContrastivePairs(CurriculumRegistry.Get("knowledge").Generate(5, Split.Train, 3).First(), 4, seed: 5));
    }

    [Fact]
    public void Contrastive_strata_draw_pairs_whole_and_keep_the_family_shares()
    {
        var strata = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 200, PromptFraming.Contrastive);
        Assert.Equal(1.0, strata.Sum(s => s.Share), 9);
        Assert.Equal(0.5, strata.Where(s => s.Name.StartsWith("safety/", StringComparison.Ordinal)).Sum(s => s.Share), 9);
        var pairs = strata.Single(s => s.Name == "safety/pairs");
        Assert.Equal((2, 0.25), (pairs.GroupSize, pairs.Share));
        Assert.All(pairs.Units, unit =>
        {
            Assert.Equal(2, unit.Count);
            var (h, b) = (Clauses[Parse(unit[0]).Clause], Clauses[Parse(unit[1]).Clause]);
            Assert.True(h.Harmful && !b.Harmful && h.Topic == b.Topic);
        });
        // The family's fixed requests stay, worded as the curriculum words them; no intent request is left unpaired.
        var single = strata.Where(s => s.Name is "safety/harmful" or "safety/benign").ToList();
        Assert.Equal(2, single.Count);
        Assert.All(single, s => Assert.Equal(1, s.GroupSize));
        Assert.DoesNotContain(single.SelectMany(s => s.Prompts), p => Clauses.Keys.Any(p.Contains));
        Assert.Equal(PpoTrainer.PromptStrata(["knowledge"], 3, 200).Select(s => s.Prompts.Count), strata.Where(s => s.Name.StartsWith("knowledge/", StringComparison.Ordinal)).Select(s => s.Prompts.Count));
        Assert.Throws<UserError>(() => new PpoSettings { PromptFraming = PromptFraming.Contrastive, BalancePrompts = false }.Validate());
    }

    [Fact]
    public void A_pair_that_lengthens_a_step_never_shares_a_sampling_seed_with_the_next_step()
    {
        // Eight prompts a step drawn in pairs and singles: a pair started at slot 7 makes the step nine prompts long.
        var strata = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 200, PromptFraming.Contrastive);
        int slots = PpoTrainer.PromptSlotsPerStep(8, strata);
        Assert.Equal(9, slots);
        var seeds = Enumerable.Range(0, 100).SelectMany(step => Enumerable.Range(0, slots).Select(slot => PpoTrainer.SamplingSeed(1234, step, slot, slots))).ToList();
        Assert.Equal(seeds.Count, seeds.Distinct().Count());
        // Without pairs the stride is the prompts per step, so such runs keep the seeds they had.
        Assert.Equal(8, PpoTrainer.PromptSlotsPerStep(8, PpoTrainer.PromptStrata(["safety", "knowledge"], 3, 200)));
        Assert.Equal(1234 + 7919L * (5 * 8 + 3), PpoTrainer.SamplingSeed(1234, 5, 3, 8));
    }

    [Fact]
    public void Leave_one_out_by_group_id_uses_the_whole_group_and_only_the_rubric_shares_it_across_prompts()
    {
        // Two prompts of a pair, two samples each, every sample agreeing: per prompt nothing is left, over the pair the harmful refusal wins.
        double[] rubric = [1.0, 1.0, -0.6, -0.6];
        Assert.Equal([0.0, 0.0, 0.0, 0.0], PpoTrainer.LeaveOneOut(rubric, [0, 0, 1, 1]));
        var pair = PpoTrainer.LeaveOneOut(rubric, [0, 0, 0, 0]);
        Assert.Equal(1.0 - (1.0 - 1.2) / 3, pair[0], 9);
        Assert.Equal(-0.6 - (2.0 - 0.6) / 3, pair[2], 9);
        Assert.Equal(PpoTrainer.LeaveOneOut([1.0, 2, 3, 4, 5, 6], 3), PpoTrainer.LeaveOneOut([1.0, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 1]));
        Assert.Throws<ArgumentException>(() => PpoTrainer.LeaveOneOut([1.0, 2, 3], [0, 0, 1]));
        Assert.True(((IRewardScorer)RuleBasedRewardModel.Load()).ComparableAcrossPrompts);
        Assert.False(((IRewardScorer)new ConstantScorer()).ComparableAcrossPrompts);
    }

    sealed class ConstantScorer : IRewardScorer
    {
        public string Name => "constant";
        public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) => pairs.Select(_ => 1.0).ToList();
    }
}
