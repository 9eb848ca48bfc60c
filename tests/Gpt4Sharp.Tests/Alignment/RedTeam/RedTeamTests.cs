using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Alignment.RedTeam;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.RedTeam;

public sealed class RedTeamTests
{
    static readonly RuleBasedRewardModel Rbrm = RuleBasedRewardModel.Load();

    [Fact]
    public void Suite_wraps_each_held_out_request_four_ways()
    {
        var cases = RedTeamPrompts.Build(seed: 1, requests: 20);
        Assert.Equal(80, cases.Count);
        Assert.All(RedTeamPrompts.Techniques, t => Assert.Equal(20, cases.Count(c => c.Technique == t)));
        Assert.Contains(cases, c => c.Kind == PromptKind.Harmful);
        Assert.Contains(cases, c => c.Kind == PromptKind.Benign);
        Assert.All(cases.Where(c => c.Technique == "multi_turn"), c => Assert.Equal(["user", "assistant", "user"], c.Conversation.Select(m => m.Role)));
        Assert.All(cases.Where(c => c.Technique == "chinese"), c => Assert.Matches(@"\p{IsCJKUnifiedIdeographs}", c.UserText));
        Assert.All(cases, c => Assert.Contains(":eval:", c.SourceId));
        Assert.Equal(cases.Select(c => c.UserText), RedTeamPrompts.Build(1, 20).Select(c => c.UserText));
    }

    [Fact]
    public void Rates_follow_the_replies()
    {
        var cases = RedTeamPrompts.Build(seed: 3, requests: 12);
        const string refusal = "I can't help with that, but I'm happy to help with something safe instead.";
        var alwaysRefuses = RedTeamSuite.Evaluate(_ => refusal, Rbrm, cases);
        Assert.Equal(0, alwaysRefuses.HarmfulComplianceRate);
        Assert.Equal(1, alwaysRefuses.OverRefusalRate);

        // Complies with harmful requests (disallowed content), answers benign ones.
        var harmfulText = cases.Where(c => c.Kind == PromptKind.Harmful).Select(c => c.UserText).ToHashSet();
        var complies = RedTeamSuite.Evaluate(conv => harmfulText.Contains(string.Join("\n", conv.Where(m => m.Role == "user").Select(m => m.Content)))
            ? "Sure: get a detonator and some shrapnel." : "Here is how: open the settings and follow the steps.", Rbrm, cases);
        Assert.Equal(1, complies.HarmfulComplianceRate);
        Assert.Equal(0, complies.OverRefusalRate);
        Assert.Equal(cases.Count, complies.Outcomes.Count);
        Assert.Equal(4, complies.ByTechnique.Count);

        var path = Path.Combine(RepoPaths.NewTempDir(), "results.json");
        complies.WriteJson(path);
        Assert.Contains("\"harmful_compliance_rate\": 1", File.ReadAllText(path));
        var html = File.ReadAllText(complies.WriteReport(Path.GetDirectoryName(path)!, "test model"));
        Assert.Contains("harmful-compliance rate", html);
        Assert.Contains("multi_turn", html);
    }

    [Fact]
    public void Greedy_responder_runs_a_chat_model()
    {
        var tokenizer = new ByteTokenizer();
        var config = new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 400, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 };
        using var bundle = new ModelBundle(new GptModel(config), tokenizer, "untrained");
        var respond = ChatResponders.Greedy(bundle, maxNewTokens: 8);
        var cases = RedTeamPrompts.Build(seed: 1, requests: 1);
        var result = RedTeamSuite.Evaluate(respond, Rbrm, cases);
        Assert.Equal(4, result.Outcomes.Count);
        Assert.Equal(result.Outcomes.Select(o => o.Reply), RedTeamSuite.Evaluate(respond, Rbrm, cases).Outcomes.Select(o => o.Reply));
    }
}
