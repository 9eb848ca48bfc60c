using System.CommandLine;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Cli;

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class CliTests
{
    [Fact]
    public void Config_file_values_fill_options_and_the_command_line_wins()
    {
        var file = Path.Combine(RepoPaths.NewTempDir(), "run.json");
        File.WriteAllText(file, "{\"steps\": 500, \"d-model\": 128, \"bf16\": true, \"stop\": [\"a\", \"b\"], \"out\": \"x y\"}");
        var args = ConfigFile.Expand(["pretrain", "--config", file, "--steps", "7"]);
        Assert.Equal(["pretrain", "--steps", "7", "--d-model", "128", "--bf16", "true", "--stop", "a", "--stop", "b", "--out", "x y"], args);
    }

    [Fact]
    public async Task Pretrain_sample_and_info_work_end_to_end_on_a_tiny_run()
    {
        var dir = RepoPaths.NewTempDir();
        var root = new RootCommand { ConfigFile.Option };
        foreach (var c in PretrainCommands.Create()) root.Subcommands.Add(c);
        string[] pretrain = ["pretrain", "--out", dir, "--steps", "3", "--corpus-docs", "200", "--tokenizer-vocab", "300", "--d-model", "32",
            "--layers", "1", "--heads", "2", "--context", "64", "--seq-len", "32", "--batch-size", "2", "--eval-every", "0", "--device", "cpu"];
        Assert.Equal(0, await root.Parse(pretrain).InvokeAsync());
        Assert.Equal(0, await root.Parse(["sample", "--model", dir, "--prompt", "Q", "--max-tokens", "5", "--device", "cpu"]).InvokeAsync());
        Assert.Equal(0, await root.Parse(["info", dir]).InvokeAsync());
        Assert.Equal(1, await root.Parse(["info", Path.Combine(dir, "nope")]).InvokeAsync());
        Assert.Equal(1, await root.Parse(pretrain).InvokeAsync()); // the run exists: asks for --resume instead of overwriting
    }
}
