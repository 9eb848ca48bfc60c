using Gpt4Sharp.Chat;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Tests.Text;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using Gpt4Sharp.Vision;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Chat;

[Collection(ConsoleCollection.Name)]
public class ChatImageTests
{
    static readonly AsciiTokenizer Tokenizer = new();
    const int Characters = 96; // AsciiTokenizer's special tokens follow its 96 characters
    const int AnswerTokens = 4;
    // Answers of exactly AnswerTokens plain tokens, so the conversation re-encodes to the ids the session fed.
    static readonly ChatSessionOptions Options = new() { SystemPrompt = "Look closely.", Sampling = SamplingOptions.Greedy(AnswerTokens), MinNewTokens = AnswerTokens };

    static VlmConfig Config(ITokenizer tokenizer, int context = 256) => new()
    {
        Vision = new VisionConfig { ImageSize = 16, PatchSize = 8, Width = 32, Layers = 1, Heads = 2 },
        Decoder = GptConfig.Create(tokenizer.VocabSize, context, 32, 2, 2),
    };

    static string WritePng(string dir, string name, int index)
    {
        var family = CurriculumImages.ImageFamily("shapes");
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, family.RenderPng(family.Make(1, Gpt4Sharp.Curriculum.Split.Eval, index)));
        return path;
    }

    [Fact]
    public async Task An_image_turn_then_a_text_turn_decode_as_one_full_pass_over_the_conversation()
    {
        using var vlm = new VisionLanguageModel(Config(Tokenizer), seed: 3);
        vlm.eval();
        var encoder = new ImageSpanEncoder(vlm, Tokenizer);
        var dir = RepoPaths.NewTempDir();
        using var session = new ChatSession(vlm.Decoder, Tokenizer, Options, encoder);
        using var reencoded = new ChatSession(vlm.Decoder, Tokenizer, Options with { ReuseCache = false }, encoder);
        var png = WritePng(dir, "a.png", 0);

        var (_, first) = await session.AskAsync("What is this?", [session.LoadImage(png)]);
        using var afterImageTurn = session.LastLogits!.clone();
        var (_, second) = await session.AskAsync("And its colour?");
        await reencoded.AskAsync("What is this?", [reencoded.LoadImage(png)]);
        await reencoded.AskAsync("And its colour?");

        // The image span is prompt tokens and stays in the cache for the text turn.
        int span = encoder.TokensPerImage + 2;
        int firstPrompt = MultimodalChat.Encode(Tokenizer, [new MultimodalMessage("system", "Look closely."), new MultimodalMessage("user", "What is this?", [zeros(3, 16, 16)])], encoder.TokensPerImage, addGenerationPrompt: true).Ids.Length;
        Assert.Equal(firstPrompt, first.PromptTokens);
        Assert.True(first.PromptTokens > span);
        Assert.Equal(first.PromptTokens + AnswerTokens - 1, second.CachedTokens); // the answer's last token is fed with the next turn
        Assert.Single(session.ImagesOf(1));
        Assert.Empty(session.ImagesOf(3));
        Assert.Equal(reencoded.Messages, session.Messages); // re-encoding the window embeds the picture again
        Assert.Equal(reencoded.Usage.Select(u => u.PromptTokens), session.Usage.Select(u => u.PromptTokens));

        // One full ForwardEmbeddings pass over the whole conversation predicts every answer token the session produced.
        var framed = session.Messages.Select((m, i) => new MultimodalMessage(m.Role, m.Content, [.. session.ImagesOf(i).Select(p => p.Pixels)])).ToList();
        var whole = MultimodalChat.Encode(Tokenizer, framed, encoder.TokensPerImage);
        using var noGrad = no_grad();
        var logits = vlm.Decoder.ForwardEmbeddings(encoder.Embed(whole.Ids, whole.Images));
        var answerPositions = Enumerable.Range(0, whole.Ids.Length).Where(i => whole.AssistantMask[i] && whole.Ids[i] < Characters).ToList();
        Assert.Equal(2 * AnswerTokens, answerPositions.Count);
        // Each turn's last answer token is fed with the next turn, so the session's logits are those after the one before it.
        Assert.True(afterImageTurn.allclose(logits[.., answerPositions[AnswerTokens - 2]], atol: 1e-4));
        Assert.True(session.LastLogits!.allclose(logits[.., answerPositions[2 * AnswerTokens - 2]], atol: 1e-4));
        logits[.., .., Characters..] = double.NegativeInfinity; // the session suppresses stop tokens until MinNewTokens
        var predicted = logits.argmax(-1)[0].data<long>().ToArray();
        Assert.All(answerPositions, i => Assert.Equal(whole.Ids[i], (int)predicted[i - 1]));

        // A saved chat keeps the picture's path and continues exactly as the original.
        var saved = Path.Combine(dir, "chat.json");
        session.Save(saved);
        Assert.Contains("a.png", File.ReadAllText(saved));
        using var loaded = ChatSession.Load(saved, vlm.Decoder, Tokenizer, Options, encoder);
        Assert.Single(loaded.ImagesOf(1));
        Assert.Equal((await session.AskAsync("Once more?")).Answer, (await loaded.AskAsync("Once more?")).Answer);
        Assert.Contains("reads no images", Assert.Throws<UserError>(() => ChatSession.Load(saved, vlm.Decoder, Tokenizer, Options)).Message);
    }

    [Fact]
    public async Task Pictures_in_the_window_are_embedded_again_when_the_window_slides()
    {
        using var vlm = new VisionLanguageModel(Config(Tokenizer, context: 64), seed: 6);
        vlm.eval();
        var encoder = new ImageSpanEncoder(vlm, Tokenizer);
        var png = WritePng(RepoPaths.NewTempDir(), "b.png", 3);
        using var cached = new ChatSession(vlm.Decoder, Tokenizer, Options, encoder);
        using var reencoded = new ChatSession(vlm.Decoder, Tokenizer, Options with { ReuseCache = false }, encoder);
        for (int turn = 0; turn < 6; turn++)
        {
            string text = $"Turn {turn}: and this?";
            var (a, usageA) = turn % 2 == 0 ? await cached.AskAsync(text, [cached.LoadImage(png)]) : await cached.AskAsync(text);
            var (b, usageB) = turn % 2 == 0 ? await reencoded.AskAsync(text, [reencoded.LoadImage(png)]) : await reencoded.AskAsync(text);
            Assert.Equal(b, a);
            Assert.Equal(usageB.PromptTokens, usageA.PromptTokens);
            Assert.True(cached.CachedTokens <= 64);
        }
        Assert.Contains(cached.Usage, u => u.WindowSlid);
        Assert.True(cached.WindowStart > 1);
    }

    [Fact]
    public void The_repl_attaches_pictures_and_a_bad_file_prints_one_sentence_and_goes_on()
    {
        using var vlm = new VisionLanguageModel(Config(Tokenizer), seed: 4);
        vlm.eval();
        var dir = RepoPaths.NewTempDir();
        var good = WritePng(dir, "good.png", 1);
        var corrupt = Path.Combine(dir, "corrupt.png");
        File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5, 6, 7, 8]);
        var missing = Path.Combine(dir, "missing.png");
        var script = string.Join('\n', $"/image {missing}", $"/image {corrupt}", "/image", $"/image {good}", "Describe it.", "Thanks.", "/quit");
        using var repl = new ChatRepl(vlm.Decoder, Tokenizer, Options, new ImageSpanEncoder(vlm, Tokenizer));
        var output = new StringWriter();
        Assert.Equal(0, repl.Run(new StringReader(script), output));
        var lines = output.ToString().Split('\n');

        Assert.Single(lines, l => l.Contains("error: Image") && l.Contains("missing.png"));
        Assert.Single(lines, l => l.Contains("error: Image") && l.Contains("corrupt.png"));
        Assert.Contains(lines, l => l.Contains("error: /image needs a file name"));
        Assert.Contains(lines, l => l.Contains("Attached") && l.Contains("1 picture(s)"));
        Assert.Contains("Bye. 2 turns", output.ToString());
        Assert.Single(repl.Session.ImagesOf(1));   // the picture went with "Describe it." only
        Assert.Empty(repl.Session.ImagesOf(3));
    }

    [Fact]
    public void A_text_only_model_refuses_pictures_with_one_sentence()
    {
        using var model = new GptModel(new GptConfig { VocabSize = Tokenizer.VocabSize, ContextLength = 64, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 }, seed: 5);
        using var repl = new ChatRepl(model, Tokenizer, Options);
        var output = new StringWriter();
        repl.Run(new StringReader("/image photo.png\nHi\n"), output);
        Assert.Contains("error: This model reads no images; train one with `gpt4sharp vlm train`.", output.ToString());
        Assert.Single(repl.Session.Usage); // the chat went on
        Assert.Throws<UserError>(() => new ChatSession(model, Tokenizer, Options).SendAsync("Hi", [new ChatImage("x.png", zeros(3, 16, 16))]).GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public void The_chat_verb_loads_a_vision_language_run_with_image_and_refuses_image_for_a_text_run()
    {
        var tokenizer = TestTokenizers.Ours;
        var dir = RepoPaths.NewTempDir();
        var png = WritePng(dir, "shape.png", 2);
        var vlmRun = Path.Combine(dir, "vlm");
        var config = Config(tokenizer, context: 64);
        using (var vlm = new VisionLanguageModel(config))
        {
            ModelBundle.CopyTokenizer(tokenizer, vlmRun);
            new CheckpointStore(vlmRun).Save(vlm, config, null, new TrainerState { Step = 1 }, RunInfo.Capture("test", 1, config));
        }
        var textRun = Path.Combine(dir, "text");
        using (var model = new GptModel(config.Decoder))
        {
            ModelBundle.CopyTokenizer(tokenizer, textRun);
            new CheckpointStore(textRun).Save(model, ModelBundle.ConfigJson(config.Decoder, tokenizer), null, new TrainerState { Step = 1 }, RunInfo.Capture("test", 1, config.Decoder));
        }
        var stdin = Console.In;
        var stdout = Console.Out;
        var stderr = Console.Error;
        var ansi = Spectre.Console.AnsiConsole.Console;
        var output = new StringWriter();
        try
        {
            Console.SetOut(output);
            Console.SetError(output);
            // Error sentences go through Spectre's console, which bound the real stdout when first used.
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(output) });
            Console.SetIn(new StringReader("What shape is this?\n"));
            Assert.Equal(0, ChatCommands.Create().Parse(["--model", vlmRun, "--image", png, "--max-tokens", "3", "--device", "cpu"]).Invoke());
            Console.SetIn(new StringReader("Hi\n"));
            Assert.Equal(1, ChatCommands.Create().Parse(["--model", textRun, "--image", png, "--device", "cpu"]).Invoke());
        }
        finally
        {
            Console.SetIn(stdin);
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Spectre.Console.AnsiConsole.Console = ansi;
        }
        Assert.Contains("Bye. 1 turns", output.ToString());
        Assert.Contains("This model reads no images; train one with `gpt4sharp vlm train`.", output.ToString());
    }
}
