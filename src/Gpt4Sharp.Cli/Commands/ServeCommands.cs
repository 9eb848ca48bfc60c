using System.CommandLine;
using Gpt4Sharp.Chat;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Server;
using Gpt4Sharp.Vision;

namespace Gpt4Sharp.Cli;

/// <summary><c>gpt4sharp serve</c>: an OpenAI-compatible HTTP server over one trained model.</summary>
public static class ServeCommands
{
    public static Command Create()
    {
        var model = Cli.Required<string>("--model", "Run directory or checkpoint directory.");
        var port = Cli.Opt("--port", "TCP port (0 picks a free one).", 8080);
        var host = Cli.Opt("--host", "Address to bind; 0.0.0.0 exposes the server beyond this machine.", "127.0.0.1");
        var keys = new Option<string[]>("--api-key") { Description = "Accepted API key (repeatable); without any, no key is needed.", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] };
        var name = Cli.Opt<string?>("--name", "Model id clients send in \"model\" (default: the model directory's name).");
        var prices = Cli.Opt<string?>("--prices", "Price table JSON for the cost field (default: GPT-4's 8K and 32K prices).");
        var maxBody = Cli.Opt("--max-body-bytes", "Largest accepted request body.", 1L << 20);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "auto");
        var maxBatch = Cli.Opt("--max-batch", "Sequences decoded together in one forward pass (continuous batching); more requests wait.", 16);
        var kept = Cli.Opt("--kept-sequences", "Finished conversations whose KV cache is kept for reuse by their next turn.", 16);
        var command = new Command("serve", "Serve a model over OpenAI's HTTP API (/v1/chat/completions with images for vision-language models, /v1/completions, /v1/moderations, /v1/models, /health, /metrics) and a web chat page at /.")
        {
            model, port, host, keys, name, prices, maxBody, device, maxBatch, kept,
        };
        command.SetHandler(async (p, cancel) =>
        {
            Cli.RequireTorch();
            var directory = p.GetValue(model)!;
            var options = new ServerOptions
            {
                ModelName = p.GetValue(name) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))),
                Host = p.GetValue(host)!,
                Port = p.GetValue(port),
                ApiKeys = p.GetValue(keys) ?? [],
                MaxBodyBytes = p.GetValue(maxBody),
                Prices = p.GetValue(prices) is { } file ? PriceTable.Load(file) : PriceTable.Gpt4,
                Log = Console.Error.WriteLine,
                MaxBatch = p.GetValue(maxBatch),
                KeptSequences = p.GetValue(kept),
            };
            if (options.Port is < 0 or > 65535) throw new UserError($"--port must be between 0 and 65535 (got {options.Port}).");
            var torchDevice = TorchRuntime.ParseDevice(p.GetValue(device)!);
            // A vision-language run serves its decoder (a plain GptModel) and embeds pictures with its image encoder.
            using var vlm = VlmBundle.IsVlm(directory) ? VlmBundle.Load(directory, torchDevice) : null;
            using var text = vlm is null ? ModelBundle.Load(directory, torchDevice, w => Console.Error.WriteLine(w)) : null;
            var (decoder, tokenizer) = vlm is not null ? (vlm.Decoder, vlm.Tokenizer) : (text!.Model, text.Tokenizer);
            await using var server = await OpenAiServer.StartAsync(decoder, tokenizer, vlm?.Images, options, cancel);
            Console.WriteLine($"Serving '{options.ModelName}' ({decoder.Config.ParameterCount:N0} parameters, context {decoder.Config.ContextLength}{(vlm is null ? "" : ", reads images")}) at {server.Address}v1");
            Console.WriteLine($"Web chat: {server.Address}");
            Console.WriteLine($"Batch: up to {options.MaxBatch} sequences per decode step, {options.KeptSequences} finished ones kept for prefix reuse; KV cache {server.Engine.CacheBytes / 1e6:N0} MB (lower --max-batch / --kept-sequences to shrink it).");
            Console.WriteLine(options.ApiKeys.Count > 0 ? $"{options.ApiKeys.Count} API key(s) required. Ctrl-C stops." : "No API key required. Ctrl-C stops.");
            try { await server.WaitForShutdownAsync(cancel); }
            catch (OperationCanceledException) { }
            Console.WriteLine("Server stopped.");
            return 0;
        });
        return command;
    }
}
