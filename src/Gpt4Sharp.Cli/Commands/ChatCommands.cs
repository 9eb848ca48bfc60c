using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Chat;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using Gpt4Sharp.Vision;

namespace Gpt4Sharp.Cli;

/// <summary><c>gpt4sharp chat</c>: a multi-turn REPL over a <see cref="ChatSession"/>.</summary>
public static class ChatCommands
{
    public static Command Create()
    {
        var model = Cli.Required<string>("--model", "Run directory or checkpoint directory.");
        var system = Cli.Opt<string?>("--system", "System prompt (kept when the window slides).");
        var maxTokens = Cli.Opt("--max-tokens", "New tokens per answer at most.", 256);
        var temperature = Cli.Opt("--temperature", "0 = greedy.", 0.7);
        var topP = Cli.Opt("--top-p", "Nucleus sampling threshold (1 = off).", 0.95);
        var seed = Cli.Opt("--seed", "Sampling seed.", 1234L);
        var prices = Cli.Opt<string?>("--prices", "Price table JSON (default: GPT-4's 8K and 32K prices).");
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "auto");
        var image = new Option<string[]>("--image") { Description = "Picture(s) for the first message (vision-language models from `gpt4sharp vlm train`); repeat for several.", DefaultValueFactory = _ => [] };
        var command = new Command("chat", "Multi-turn chat with streaming answers; /image FILE, /reset, /usage, /save FILE, /load FILE, /quit. Ctrl-C stops the current answer.")
        {
            model, system, maxTokens, temperature, topP, seed, prices, device, image,
        };
        // A synchronous action: System.CommandLine then leaves Ctrl-C to us, so it can stop one answer instead of the program.
        command.SetAction(p =>
        {
            try
            {
                Cli.RequireTorch();
                var options = new ChatSessionOptions
                {
                    SystemPrompt = p.GetValue(system),
                    Sampling = new SamplingOptions { MaxNewTokens = p.GetValue(maxTokens), Temperature = p.GetValue(temperature), TopP = p.GetValue(topP), Seed = p.GetValue(seed) }.Validate(),
                    Prices = p.GetValue(prices) is { } file ? PriceTable.Load(file) : PriceTable.Gpt4,
                };
                string dir = p.GetValue(model)!;
                var torchDevice = TorchRuntime.ParseDevice(p.GetValue(device)!);
                // A vision-language run chats through its decoder (a plain GptModel) and embeds pictures with its image encoder.
                using var vlm = VlmBundle.IsVlm(dir) ? VlmBundle.Load(dir, torchDevice) : null;
                using var text = vlm is null ? ModelBundle.Load(dir, torchDevice, w => Console.Error.WriteLine(w)) : null;
                using var repl = vlm is not null ? new ChatRepl(vlm.Decoder, vlm.Tokenizer, options, vlm.Images) : new ChatRepl(text!.Model, text.Tokenizer, options);
                foreach (var picture in p.GetValue(image)!) repl.Attach(picture);
                ConsoleCancelEventHandler stopAnswer = (_, e) => e.Cancel = repl.StopAnswer();
                Console.CancelKeyPress += stopAnswer;
                try { return repl.Run(Console.In, Console.Out); }
                finally { Console.CancelKeyPress -= stopAnswer; }
            }
            catch (UserError e)
            {
                Cli.Error(e);
                return 1;
            }
        });
        return command;
    }
}

/// <summary>
/// The chat loop, on any reader and writer (stdin may be a pipe). Answers stream as they are
/// written; each ends with its token counts and cost. A bad slash command or file prints one
/// sentence and the conversation goes on. With a vision-language model's <paramref name="images"/>,
/// <c>/image FILE</c> attaches pictures to the next message.
/// </summary>
public sealed class ChatRepl(GptModel model, ITokenizer tokenizer, ChatSessionOptions options, ImageSpanEncoder? images = null) : IDisposable
{
    ChatSession session = new(model, tokenizer, options, images);
    CancellationTokenSource? answering;
    /// <summary>Pictures waiting for the next user message.</summary>
    readonly List<ChatImage> attached = [];

    /// <summary>Attaches a picture to the next message; bad files and text-only models give a <see cref="UserError"/>.</summary>
    public void Attach(string path) => attached.Add(session.LoadImage(path));

    public ChatSession Session => session;

    /// <summary>Stops the answer being written, if any; true when there was one (Ctrl-C then does not end the program).</summary>
    public bool StopAnswer()
    {
        var current = answering;
        if (current is null) return false;
        current.Cancel();
        return true;
    }

    public int Run(TextReader input, TextWriter output)
    {
        output.WriteLine($"Chatting with a {model.Config.ContextLength}-token {GptConfig.AttentionName(model.Config.Attention)} model. /help lists commands; Ctrl-C stops an answer.");
        while (true)
        {
            output.Write("> ");
            output.Flush();
            var line = input.ReadLine();
            if (line is null) break;
            line = line.Trim();
            if (line.Length == 0) continue;
            try
            {
                if (line.StartsWith('/'))
                {
                    if (!Command(line, output)) break;
                }
                else Answer(line, output);
            }
            catch (UserError e)
            {
                output.WriteLine($"error: {e.Message}");
            }
        }
        output.WriteLine($"Bye. {session.Usage.Count} turns, {session.TotalPromptTokens} prompt + {session.TotalCompletionTokens} completion tokens, {Dollars(session.TotalCost)}.");
        return 0;
    }

    void Answer(string message, TextWriter output)
    {
        using var cts = new CancellationTokenSource();
        answering = cts;
        try
        {
            var pictures = attached.ToList();
            attached.Clear(); // the session owns them now
            var stream = session.SendAsync(message, pictures, cts.Token).GetAsyncEnumerator();
            try
            {
                while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                {
                    output.Write(stream.Current.Text);
                    output.Flush();
                }
            }
            finally { stream.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }
        finally { answering = null; }
        var u = session.Usage[^1];
        output.WriteLine();
        var notes = u.End switch { TurnEnd.Cancelled => ", stopped", TurnEnd.Length => ", cut at --max-tokens", TurnEnd.ContextFull => ", context full", _ => "" };
        var slid = u.WindowSlid ? ", oldest turns left the window" : "";
        output.WriteLine($"[{u.PromptTokens} prompt ({u.CachedTokens} cached) + {u.CompletionTokens} completion tokens, {Dollars(u.Cost)}, first token {u.TimeToFirstToken * 1000:F0} ms{notes}{slid}]");
    }

    /// <summary>Runs a slash command; false ends the chat.</summary>
    bool Command(string line, TextWriter output)
    {
        var parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string name = parts[0].ToLowerInvariant(), argument = parts.Length > 1 ? parts[1] : "";
        switch (name)
        {
            case "/quit" or "/exit":
                return false;
            case "/image":
                Attach(RequireFile(argument, name, "photo.png"));
                output.WriteLine($"Attached {argument}; {attached.Count} picture(s) go with your next message.");
                break;
            case "/reset":
                session.Reset();
                output.WriteLine("Conversation cleared (the system prompt stays).");
                break;
            case "/usage":
                WriteUsage(output);
                break;
            case "/save":
                session.Save(RequireFile(argument, name));
                output.WriteLine($"Saved {session.Messages.Count} messages to {argument}.");
                break;
            case "/load":
                var loaded = ChatSession.Load(RequireFile(argument, name), model, tokenizer, options, images);
                session.Dispose();
                session = loaded;
                output.WriteLine($"Loaded {session.Messages.Count} messages from {argument} ({session.CachedTokens} tokens re-encoded).");
                break;
            case "/help":
                output.WriteLine("/image FILE attaches a picture to your next message (vision-language models); /reset clears the conversation; /usage shows tokens and cost per turn; /save FILE and /load FILE keep a conversation as JSON; /quit ends.");
                break;
            default:
                throw new UserError($"Unknown command {name}; use /image FILE, /reset, /usage, /save FILE, /load FILE, /help or /quit.");
        }
        return true;
    }

    static string RequireFile(string argument, string command, string example = "chat.json") =>
        argument.Length > 0 ? argument : throw new UserError($"{command} needs a file name, e.g. {command} {example}.");

    void WriteUsage(TextWriter output)
    {
        var tier = session.Options.Prices.TierFor(model.Config.ContextLength);
        output.WriteLine($"price tier: up to {tier.MaxContext} tokens of context, ${tier.PromptPer1K} / 1K prompt, ${tier.CompletionPer1K} / 1K completion");
        output.WriteLine($"{"turn",5} {"prompt",8} {"cached",8} {"completion",10} {"cost",10} {"first token",12}");
        foreach (var u in session.Usage)
            output.WriteLine($"{u.Turn,5} {u.PromptTokens,8} {u.CachedTokens,8} {u.CompletionTokens,10} {Dollars(u.Cost),10} {u.TimeToFirstToken * 1000,9:F0} ms");
        output.WriteLine($"{"total",5} {session.TotalPromptTokens,8} {"",8} {session.TotalCompletionTokens,10} {Dollars(session.TotalCost),10}");
    }

    static string Dollars(decimal cost) => "$" + cost.ToString("0.00000", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        foreach (var picture in attached) picture.Pixels.Dispose();
        session.Dispose();
    }
}
