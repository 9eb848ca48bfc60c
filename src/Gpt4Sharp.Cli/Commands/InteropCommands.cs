using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Interop;
using Gpt4Sharp.Merging;
using Gpt4Sharp.Quantization;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"export hf|gguf", "import", "quantize" and "soup": move models to and from the engines the field runs, shrink them, and average them.</summary>
public static class InteropCommands
{
    public static Command[] Create() => [Export(), Import(), Quantize(), Soup()];

    static Command Export()
    {
        var command = new Command("export", "Writes a trained model in another engine's format: a Hugging Face directory or a llama.cpp GGUF file.");
        command.Subcommands.Add(ExportHf());
        command.Subcommands.Add(ExportGguf());
        return command;
    }

    static Option<string> ModelOption() => Cli.Required<string>("--model", "Run directory (its newest valid checkpoint) or one checkpoint directory.");

    static Command ExportHf()
    {
        var model = ModelOption();
        var output = Cli.Required<string>("--out", "Directory to write (config.json, model.safetensors, tokenizer files).");
        var command = new Command("hf", "Exports a LlamaForCausalLM (or, for a GPT-2 model, GPT2LMHeadModel) directory that transformers, vLLM and TGI load.") { model, output };
        command.SetHandler((parse, _) =>
        {
            Cli.RequireTorch();
            using var bundle = ModelBundle.Load(parse.GetValue(model)!, warn: Warn);
            var result = Run("Writing the Hugging Face directory", () => HuggingFace.Export(bundle.Model, bundle.Tokenizer, parse.GetValue(output)!));
            Summary(result, bundle.Directory, $"{HuggingFace.Architecture(bundle.Model.Config.ToHuggingFace())}, fp32 safetensors");
            AnsiConsole.MarkupLineInterpolated($"Serve it with: vllm serve {Path.GetFullPath(result.Directory)}");
            return 0;
        });
        return command;
    }

    static Command ExportGguf()
    {
        var model = ModelOption();
        var output = Cli.Required<string>("--out", "GGUF file to write, e.g. model-q8_0.gguf.");
        var type = Cli.Opt("--type", "Storage type of the weight matrices: f32, f16 or q8_0.", "f16");
        var command = new Command("gguf", "Exports a GGUF file (llama architecture, gpt2 byte-level tokenizer) for llama.cpp and ollama; Llama-architecture models only.") { model, output, type };
        command.SetHandler((parse, _) =>
        {
            Cli.RequireTorch();
            var ggml = parse.GetValue(type)!.ToLowerInvariant() switch
            {
                "f32" => GgmlType.F32,
                "f16" => GgmlType.F16,
                "q8_0" or "q8" => GgmlType.Q8_0,
                var other => throw new UserError($"GGUF type '{other}' is not supported; use f32, f16 or q8_0."),
            };
            using var bundle = ModelBundle.Load(parse.GetValue(model)!, warn: Warn);
            var result = Run("Writing the GGUF file", () => GgufExport.Export(bundle.Model, bundle.Tokenizer, parse.GetValue(output)!, ggml));
            Summary(result, bundle.Directory, $"GGUF v3, llama, {ggml}");
            AnsiConsole.MarkupLineInterpolated($"Run it with: llama-cli -m {Path.GetFullPath(result.Directory)} -p \"...\"");
            return 0;
        });
        return command;
    }

    static Command Import()
    {
        var from = Cli.Required<string>("--from", "Hugging Face model directory (LlamaForCausalLM or GPT2LMHeadModel: config.json, safetensors, tokenizer).");
        var output = Cli.Required<string>("--out", "Run directory to create; sample, eval, sft and serve accept it as --model.");
        var command = new Command("import", "Imports a Hugging Face Llama-family or GPT-2 checkpoint (single or sharded safetensors) as a Gpt4Sharp run directory.") { from, output };
        command.SetHandler((parse, _) =>
        {
            Cli.RequireTorch();
            var run = parse.GetValue(output)!;
            if (Directory.Exists(Path.Combine(run, "checkpoints")))
                throw new UserError($"{run} already holds checkpoints; import into a new directory.");
            var notes = new List<string>();
            var checkpoint = Run("Importing", () => HuggingFace.Import(parse.GetValue(from)!, run, notes.Add));
            foreach (var note in notes) AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {note}");
            using var bundle = ModelBundle.Load(run);
            var table = new Table().AddColumns("imported", "").HideHeaders();
            table.AddRow("from", Markup.Escape(Path.GetFullPath(parse.GetValue(from)!)));
            table.AddRow("checkpoint", Markup.Escape(checkpoint));
            table.AddRow("architecture", HuggingFace.Architecture(bundle.Model.Config.ToHuggingFace()));
            table.AddRow("parameters", bundle.Model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
            table.AddRow("shape", $"d={bundle.Model.Config.DModel}, layers={bundle.Model.Config.Layers}, heads={bundle.Model.Config.Heads}/{bundle.Model.Config.KvHeads}, context={bundle.Model.Config.ContextLength}");
            table.AddRow("tokenizer", $"{bundle.Tokenizer.VocabSize:N0} tokens");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Try it: gpt4sharp sample --model {run} --prompt \"...\"");
            return 0;
        });
        return command;
    }

    static Command Quantize()
    {
        var model = ModelOption();
        var output = Cli.Required<string>("--out", "New checkpoint directory for the int8 model.");
        var command = new Command("quantize", "Writes an int8 weight-only copy of a model (per-output-channel scales), about a quarter of the size; every verb that takes --model loads it.") { model, output };
        command.SetHandler((parse, _) =>
        {
            Cli.RequireTorch();
            using var bundle = ModelBundle.Load(parse.GetValue(model)!, warn: Warn);
            var r = Run("Quantising to int8", () => Int8Quantization.Save(bundle.Model, bundle.Tokenizer, parse.GetValue(output)!));
            var table = new Table().AddColumns("int8 checkpoint", "").HideHeaders();
            table.AddRow("written", Markup.Escape(r.Directory));
            table.AddRow("matrices", $"{r.Matrices} ({r.Int8Parameters:N0} weights in int8, {r.OtherParameters:N0} kept fp32)");
            table.AddRow("size", $"{r.Int8Bytes / 1e6:F2} MB (fp32: {r.Fp32Bytes / 1e6:F2} MB)");
            table.AddRow("worst error", $"{r.WorstRelativeError:P2} of a matrix's largest weight");
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    static Command Soup()
    {
        var models = new Option<string[]>("--models") { Description = "Two or more run or checkpoint directories fine-tuned from one start (same architecture and tokenizer), e.g. SFT or PPO runs that differ only in seed.", Required = true, AllowMultipleArgumentsPerToken = true };
        var weights = new Option<double[]>("--weights") { Description = "One weight per model (normalised to sum to 1); default: a uniform average.", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var output = Cli.Required<string>("--out", "New checkpoint directory for the averaged model.");
        var command = new Command("soup", "Averages the weights of models fine-tuned from one start (a model soup): the average keeps what the runs share and drops what each got wrong by chance; every verb that takes --model loads it.") { models, weights, output };
        command.SetHandler((parse, _) =>
        {
            Cli.RequireTorch();
            var r = Run("Averaging the models", () => ModelSoup.Write(parse.GetValue(models)!, parse.GetValue(output)!, parse.GetValue(weights), Warn));
            var table = new Table().AddColumns("model", "checkpoint", "weight");
            foreach (var i in r.Ingredients)
                table.AddRow(Markup.Escape(i.Model), Markup.Escape(Path.GetFileName(i.Checkpoint)), i.Weight.ToString("F3", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Wrote {r.Directory} ({r.Parameters:N0} parameters); the ingredients lie {r.RelativeSpread:P2} of its norm from it (root mean square).");
            return 0;
        });
        return command;
    }

    static T Run<T>(string what, Func<T> work) => AnsiConsole.Status().Start(what + "...", _ => work());

    static void Summary(ExportResult result, string source, string format)
    {
        var table = new Table().AddColumns("export", "").HideHeaders();
        table.AddRow("from", Markup.Escape(source));
        table.AddRow("written", Markup.Escape(Path.GetFullPath(result.Directory)));
        table.AddRow("format", Markup.Escape(format));
        table.AddRow("parameters", result.Parameters.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("files", Markup.Escape(string.Join(", ", result.Files)));
        AnsiConsole.Write(table);
        foreach (var note in result.LeftOut) AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {note}");
    }

    static void Warn(string message) => AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] {message}");
}
