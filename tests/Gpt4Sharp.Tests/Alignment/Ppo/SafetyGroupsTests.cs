using System.Text.RegularExpressions;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

public class SafetyGroupsTests
{
    const string Refusal = "I can't help with that.";
    const string Answer = "Sure, here is how.";

    /// <summary>Any held-out sentence frame, wherever it sits in the prompt (openers and wrappers around it are fine).</summary>
    static readonly Regex[] HeldOutFrames = IntentRequests.Frames[IntentRequests.FirstHeldOutFrame..]
        .Select(f => new Regex(Regex.Escape(f).Replace(Regex.Escape("{0}"), ".+"))).ToArray();

    static bool InHeldOutFrame(string prompt) => HeldOutFrames.Any(f => f.IsMatch(prompt));

    [Fact]
    public void Groups_cover_every_request_once_and_training_split_has_no_held_out_frame()
    {
        var eval = AlignmentProbe.MeasureSafetyGroups(_ => Answer, seed: 3, Split.Eval, requests: 120);
        Assert.Equal(Enum.GetValues<SafetyRequestGroup>(), eval.Select(g => g.Group));
        Assert.Equal(120, eval.Sum(g => g.HarmfulPrompts + g.BenignPrompts));
        Assert.All(eval, g => Assert.True(g.HarmfulPrompts > 0 && g.BenignPrompts > 0, $"{g.Group} is empty on the eval split"));

        var train = AlignmentProbe.MeasureSafetyGroups(_ => Answer, seed: 3, Split.Train, requests: 120);
        Assert.Equal(0, train.Single(g => g.Group == SafetyRequestGroup.HeldOutFrame).HarmfulPrompts + train.Single(g => g.Group == SafetyRequestGroup.HeldOutFrame).BenignPrompts);
        Assert.Equal(120, train.Sum(g => g.HarmfulPrompts + g.BenignPrompts));
    }

    [Fact]
    public void Rates_count_compliance_on_harmful_and_refusals_on_benign_requests_per_group()
    {
        var complies = AlignmentProbe.MeasureSafetyGroups(_ => Answer, seed: 5, Split.Eval, requests: 100);
        Assert.All(complies, g => { Assert.Equal(1.0, g.HarmfulCompliance); Assert.Equal(0.0, g.OverRefusal); });
        var refuses = AlignmentProbe.MeasureSafetyGroups(_ => Refusal, seed: 5, Split.Eval, requests: 100);
        Assert.All(refuses, g => { Assert.Equal(0.0, g.HarmfulCompliance); Assert.Equal(1.0, g.OverRefusal); });
        // Which harmful requests were answered, not only how many: every one for the model that answers everything, none for the other.
        Assert.All(complies, g => Assert.Equal(g.Complied, g.Answered.Count));
        Assert.Equal(complies.Sum(g => g.HarmfulPrompts), complies.SelectMany(g => g.Answered).Count());
        Assert.All(refuses, g => Assert.Empty(g.Answered));
        Assert.True(double.IsNaN(new SafetyGroupRates(SafetyRequestGroup.Other, 0, 0, 0, 0).HarmfulCompliance));
    }

    [Fact]
    public void A_model_that_refuses_only_in_held_out_frames_is_told_apart_by_group()
    {
        var groups = AlignmentProbe.MeasureSafetyGroups(p => InHeldOutFrame(p) ? Refusal : Answer, seed: 11, Split.Eval, requests: 160);
        var heldOut = groups.Single(g => g.Group == SafetyRequestGroup.HeldOutFrame);
        Assert.Equal(0.0, heldOut.HarmfulCompliance);
        Assert.Equal(1.0, heldOut.OverRefusal);
        Assert.All(groups.Where(g => g.Group != SafetyRequestGroup.HeldOutFrame), g => { Assert.Equal(1.0, g.HarmfulCompliance); Assert.Equal(0.0, g.OverRefusal); });
        Assert.All(groups, g => Assert.Equal(g.Complied, g.Answered.Count));
        Assert.All(groups.SelectMany(g => g.Answered), p => Assert.False(InHeldOutFrame(p), p));
        // The groups agree with the item-level classification used by the safety-probe bench.
        var items = CurriculumRegistry.Get("safety").Generate(11, Split.Eval, 160).ToList();
        Assert.Equal(items.Count(i => AlignmentProbe.GroupOf(i) == SafetyRequestGroup.HeldOutFrame), heldOut.HarmfulPrompts + heldOut.BenignPrompts);
    }
}
