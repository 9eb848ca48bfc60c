using System.CommandLine;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Interop;

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class InteropCliTests
{
    static int Invoke(params string[] args)
    {
        var root = new RootCommand();
        foreach (var command in InteropCommands.Create()) root.Subcommands.Add(command);
        return root.Parse(args).Invoke();
    }

    [Fact]
    public void ImportExportAndQuantiseThroughTheCli()
    {
        var dir = RepoPaths.NewTempDir();
        using var model = InteropModels.Create();
        var hf = Path.Combine(dir, "hf");
        HuggingFace.Export(model, InteropModels.Tokenizer, hf);

        var run = Path.Combine(dir, "run");
        Assert.Equal(0, Invoke("import", "--from", hf, "--out", run));
        Assert.Equal(1, Invoke("import", "--from", hf, "--out", run)); // never over an existing run

        var gguf = Path.Combine(dir, "m.gguf");
        Assert.Equal(0, Invoke("export", "gguf", "--model", run, "--out", gguf, "--type", "q8_0"));
        Assert.Equal("GGUF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(gguf), 0, 4));
        Assert.Equal(1, Invoke("export", "gguf", "--model", run, "--out", gguf, "--type", "q4_k"));

        Assert.Equal(0, Invoke("export", "hf", "--model", run, "--out", Path.Combine(dir, "hf2")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(hf, "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "hf2", "model.safetensors")));

        var int8 = Path.Combine(dir, "int8");
        Assert.Equal(0, Invoke("quantize", "--model", run, "--out", int8));
        using var bundle = ModelBundle.Load(int8);
        Assert.Equal(model.Config, bundle.Model.Config);
        Assert.Equal(1, Invoke("quantize", "--model", Path.Combine(dir, "missing"), "--out", Path.Combine(dir, "x")));
    }

    [Fact]
    public void AveragesModelsThroughTheCli()
    {
        var start = Gpt4Sharp.Tests.Alignment.TinyRun.Create();
        var (a, b) = (Gpt4Sharp.Tests.Merging.ModelSoupTests.FineTuned(start, 1), Gpt4Sharp.Tests.Merging.ModelSoupTests.FineTuned(start, 2));
        var soup = Path.Combine(RepoPaths.NewTempDir(), "soup");
        Assert.Equal(0, Invoke("soup", "--models", a, b, "--weights", "1", "3", "--out", soup));
        using (var bundle = ModelBundle.Load(soup)) Assert.Equal(Gpt4Sharp.Tests.Alignment.TinyRun.Config, bundle.Model.Config);
        Assert.Equal(1, Invoke("soup", "--models", a, "--out", Path.Combine(RepoPaths.NewTempDir(), "one")));
        Assert.Equal(1, Invoke("soup", "--models", a, b, "--out", soup)); // never over an existing checkpoint
    }

    [Fact]
    public void ImportsAndExportsGpt2ThroughTheCliButNotAsGguf()
    {
        var dir = RepoPaths.NewTempDir();
        var hub = Path.Combine(dir, "hub");
        Directory.CreateDirectory(hub);
        Gpt2ImportTests.WriteHubCheckpoint(hub);
        var run = Path.Combine(dir, "run");
        Assert.Equal(0, Invoke("import", "--from", hub, "--out", run));
        Assert.Equal(0, Invoke("export", "hf", "--model", run, "--out", Path.Combine(dir, "hf")));
        Assert.Contains("GPT2LMHeadModel", File.ReadAllText(Path.Combine(dir, "hf", "config.json")));
        Assert.Equal(1, Invoke("export", "gguf", "--model", run, "--out", Path.Combine(dir, "m.gguf")));
        Assert.False(File.Exists(Path.Combine(dir, "m.gguf")));
    }
}
