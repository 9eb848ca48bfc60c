using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Chat;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;

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
        var command = new Command("chat", "Multi-turn chat with streaming answers; /reset, /usage, /save FILE, /load FILE, /quit. Ctrl-C stops the current answer.")
        {
            model, system, maxTokens, temperature, topP, seed, prices, device,
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
                using var bundle = ModelBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!), w => Console.Error.WriteLine(w));
                using var repl = new ChatRepl(bundle.Model, bundle.Tokenizer, options);
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
/// sentence and the conversation goes on.
/// </summary>
public sealed class ChatRepl(GptModel model, ITokenizer tokenizer, ChatSessionOptions options) : IDisposable
{
    ChatSession session = new(model, tokenizer, options);
    CancellationTokenSource? answering;

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
            var stream = session.SendAsync(message, cts.Token).GetAsyncEnumerator();
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
                var loaded = ChatSession.Load(RequireFile(argument, name), model, tokenizer, options);
                session.Dispose();
                session = loaded;
                output.WriteLine($"Loaded {session.Messages.Count} messages from {argument} ({session.CachedTokens} tokens re-encoded).");
                break;
            case "/help":
                output.WriteLine("/reset clears the conversation; /usage shows tokens and cost per turn; /save FILE and /load FILE keep a conversation as JSON; /quit ends.");
                break;
            default:
                throw new UserError($"Unknown command {name}; use /reset, /usage, /save FILE, /load FILE, /help or /quit.");
        }
        return true;
    }

    static string RequireFile(string argument, string command) =>
        argument.Length > 0 ? argument : throw new UserError($"{command} needs a file name, e.g. {command} chat.json.");

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

    public void Dispose() => session.Dispose();
}
