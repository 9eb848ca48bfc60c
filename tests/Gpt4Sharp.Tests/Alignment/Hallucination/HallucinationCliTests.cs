using System.CommandLine;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Hallucination;

[Collection(ConsoleCollection.Name)]
public class HallucinationCliTests
{
    [Fact]
    public async Task Hallucination_rate_writes_one_case_per_question_and_bad_input_exits_1()
    {
        var root = new RootCommand { ConfigFile.Option };
        foreach (var c in SafetyCommands.Create()) root.Subcommands.Add(c);
        var model = TinyRun.Create();
        var cases = Path.Combine(RepoPaths.NewTempDir(), "sub", "cases.jsonl");
        Assert.Equal(0, await root.Parse(["hallucination", "rate", "--model", model, "--questions", "3", "--cases", cases]).InvokeAsync());
        Assert.Equal(3, File.ReadAllLines(cases).Length);
        Assert.Equal(0, await root.Parse(["hallucination", "rate", "--model", model, "--questions", "2", "--split", "train", "--cases", cases]).InvokeAsync());
        Assert.Equal(2, File.ReadAllLines(cases).Length);
        Assert.Equal(0, await root.Parse(["hallucination", "rate", "--model", model, "--questions", "2", "--answerable", "2"]).InvokeAsync());
        Assert.Equal(1, await root.Parse(["hallucination", "rate", "--model", model, "--answerable", "-1"]).InvokeAsync()); // negative count
        Assert.Equal(1, await root.Parse(["hallucination", "rate", "--model", model, "--questions", "0"]).InvokeAsync()); // no questions
        Assert.Equal(1, await root.Parse(["hallucination", "rate", "--model", model, "--split", "dev"]).InvokeAsync()); // no such split
        Assert.Equal(1, await root.Parse(["hallucination", "rate", "--model", Path.Combine(model, "missing")]).InvokeAsync()); // no model there
    }
}
