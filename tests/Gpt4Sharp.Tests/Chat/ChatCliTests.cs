using System.Text.Json.Nodes;
using Gpt4Sharp.Chat;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Tests.Text;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Tests.Chat;

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class ChatCliTests
{
    [Fact]
    public void The_repl_streams_answers_and_handles_usage_save_load_and_reset_from_piped_input()
    {
        using var model = new GptModel(new GptConfig { VocabSize = 105, ContextLength = 128, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 }, seed: 9);
        var dir = RepoPaths.NewTempDir();
        var saved = Path.Combine(dir, "chat.json");
        var script = string.Join('\n', "Hello!", "/usage", $"/save {saved}", "/reset", "/usage", $"/load {saved}", "How are you?", "/load", "/bogus", "/quit", "never read");
        using var repl = new ChatRepl(model, new AsciiTokenizer(), new ChatSessionOptions { Sampling = SamplingOptions.Greedy(4) });
        var output = new StringWriter();
        Assert.Equal(0, repl.Run(new StringReader(script), output));
        var text = output.ToString();

        Assert.Contains("completion tokens, $0.00", text);           // every turn reports tokens and cost
        Assert.Contains("total", text);
        Assert.Contains($"Saved 2 messages to {saved}.", text);
        Assert.Contains("Conversation cleared", text);
        Assert.Contains($"Loaded 2 messages from {saved}", text);
        Assert.Contains("error: /load needs a file name", text);
        Assert.Contains("error: Unknown command /bogus", text);
        Assert.Contains("Bye. 2 turns", text);                       // the loaded turn and the new one
        Assert.Equal(4, repl.Session.Messages.Count);
        Assert.Equal("Hello!", JsonNode.Parse(File.ReadAllText(saved))!["messages"]![0]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void The_chat_verb_loads_a_run_directory_and_chats_over_stdin()
    {
        var run = RepoPaths.NewTempDir();
        var tokenizer = TestTokenizers.Ours;
        var config = new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 64, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 };
        using (var model = new GptModel(config))
        {
            ModelBundle.CopyTokenizer(tokenizer, run);
            new CheckpointStore(run).Save(model, ModelBundle.ConfigJson(config, tokenizer), null, new TrainerState { Step = 1 }, RunInfo.Capture("test", 1, config));
        }
        var stdin = Console.In;
        try
        {
            Console.SetIn(new StringReader("Hi\n/usage\n"));
            Assert.Equal(0, ChatCommands.Create().Parse(["--model", run, "--max-tokens", "3", "--device", "cpu"]).Invoke());
        }
        finally { Console.SetIn(stdin); }
        Assert.Equal(1, ChatCommands.Create().Parse(["--model", Path.Combine(run, "missing")]).Invoke());
    }
}
