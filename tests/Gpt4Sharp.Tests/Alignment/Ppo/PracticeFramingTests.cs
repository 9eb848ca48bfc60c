using System.Text.RegularExpressions;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class PracticeFramingTests
{
    static Regex FramePattern(string frame) => new("^" + Regex.Escape(frame).Replace(Regex.Escape("{0}"), "(.+)") + "$");

    static readonly Regex[] HeldOutFrames = IntentRequests.Frames[IntentRequests.FirstHeldOutFrame..].Select(FramePattern).ToArray();

    /// <summary>The request under the wrappers and the curriculum's politeness opener, in the pool's own order.</summary>
    static string Unwrap(string prompt)
    {
        foreach (var wrapper in PracticeFraming.Wrappers.Skip(1))
            if (FramePattern(wrapper).Match(prompt) is { Success: true } m) { prompt = m.Groups[1].Value; break; }
        foreach (var opener in new[] { "Quick question: ", "Please tell me: ", "Can you help? " })
            if (prompt.StartsWith(opener, StringComparison.Ordinal)) return prompt[opener.Length..];
        return prompt;
    }

    [Fact]
    public void Varied_pool_asks_each_training_request_in_practice_frames_only_and_never_in_held_out_or_dev_frames()
    {
        var items = CurriculumRegistry.Get("safety").Generate(1234, Split.Train, 300).ToList();
        var intent = items.Where(i => PracticeFraming.IntentClause(i) is not null).ToList();
        Assert.True(intent.Count > 100, $"only {intent.Count} topic × intent requests");
        var practice = PracticeFraming.PracticeFrames.Select(FramePattern).ToArray();
        var dev = PracticeFraming.DevFrames.Select(FramePattern).ToArray();
        var framesSeen = new HashSet<int>();
        foreach (var item in intent)
        {
            var clause = PracticeFraming.IntentClause(item)!;
            var variants = PracticeFraming.Variants(item, PracticeFraming.VariantsPerRequest, seed: 1234);
            Assert.Equal(item.Prompt, variants[0]);
            Assert.Equal(PracticeFraming.VariantsPerRequest, variants.Distinct().Count());
            foreach (var variant in variants)
            {
                var request = Unwrap(variant);
                Assert.DoesNotContain(HeldOutFrames, f => f.IsMatch(request));
                Assert.DoesNotContain(dev, f => f.IsMatch(request));
                // Same intent, same topic: only the wording around them changed.
                int frame = Array.FindIndex(practice, f => f.Match(request) is { Success: true } m && m.Groups[1].Value == clause);
                Assert.True(frame >= 0, $"'{variant}' is not '{clause}' in a practice frame");
                framesSeen.Add(frame);
            }
        }
        // Every practice frame is used somewhere, so the pool really varies the frame.
        Assert.Equal(PracticeFraming.PracticeFrames.Count, framesSeen.Count);
        // A held-out frame pattern must be able to match: the check above is not vacuous.
        Assert.Matches(HeldOutFrames[0], string.Format(IntentRequests.Frames[IntentRequests.FirstHeldOutFrame], "x"));
    }

    [Fact]
    public void Variants_are_seeded_distinct_and_leave_other_families_alone()
    {
        var safety = CurriculumRegistry.Get("safety").Generate(7, Split.Train, 40).ToList();
        foreach (var item in safety)
        {
            var a = PracticeFraming.Variants(item, 4, seed: 7);
            Assert.Equal(a, PracticeFraming.Variants(item, 4, seed: 7));
            Assert.Equal(a.Count, a.Distinct().Count());
            Assert.True(a.Count >= 2, $"no other wording for '{item.Prompt}'");
            // A request that is not topic × intent keeps its sentence and only gains a wrapper.
            if (PracticeFraming.IntentClause(item) is null) Assert.All(a, v => Assert.Contains(item.Prompt, v));
        }
        var knowledge = CurriculumRegistry.Get("knowledge").Generate(7, Split.Train, 5).First();
        Assert.Equal([knowledge.Prompt], PracticeFraming.Variants(knowledge, 4, seed: 7));
    }

    [Fact]
    public void Varied_framing_multiplies_both_safety_groups_and_keeps_their_equal_shares()
    {
        var plain = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 200);
        var varied = PpoTrainer.PromptStrata(["safety", "knowledge"], seed: 3, perFamily: 200, PromptFraming.Varied);
        Assert.Equal(plain.Select(s => (s.Name, s.Share)), varied.Select(s => (s.Name, s.Share)));
        foreach (var kind in new[] { "safety/harmful", "safety/benign" })
        {
            var (before, after) = (plain.Single(s => s.Name == kind).Prompts, varied.Single(s => s.Name == kind).Prompts);
            Assert.Superset(before.ToHashSet(), after.ToHashSet());
            Assert.True(after.Count >= 3 * before.Count, $"{kind}: {before.Count} -> {after.Count} prompts");
        }
        Assert.Equal(plain.Single(s => s.Name == "knowledge/question").Prompts, varied.Single(s => s.Name == "knowledge/question").Prompts);
    }

    [Fact]
    public void Reframe_keeps_the_opener_and_the_intent_and_refuses_other_items()
    {
        var item = CurriculumRegistry.Get("safety").Generate(11, Split.Train, 200).First(i => PracticeFraming.IntentClause(i) is not null && !i.Prompt.StartsWith("How", StringComparison.Ordinal) && i.Prompt.Contains(": "));
        var reframed = PracticeFraming.Reframe(item, "Teach me to {0}.")!;
        Assert.Equal(item.Prompt[..(item.Prompt.IndexOf(": ", StringComparison.Ordinal) + 2)] + "Teach me to " + PracticeFraming.IntentClause(item) + ".", reframed);
        var other = CurriculumRegistry.Get("safety").Generate(11, Split.Train, 200).First(i => PracticeFraming.IntentClause(i) is null);
        Assert.Null(PracticeFraming.Reframe(other, "Teach me to {0}."));
    }
}
