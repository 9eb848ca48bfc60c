using Gpt4Sharp.Runtime;
using System.CommandLine;
using Gpt4Sharp.Data;
using Gpt4Sharp.Text;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"data prepare": text or JSONL files to packed token shards.</summary>
public static class DataCommands
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input") { Description = "Text files (documents separated by blank lines), JSONL files ({\"text\": ...} per line) or directories.", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = Cli.Required<string>("--tokenizer", $"{string.Join(", ", Tokenizers.TiktokenEncodings)} or a directory from `tokenizer train`.");
        var output = Cli.Required<string>("--out", "Directory for train.bin, val.bin and meta.json.");
        var validation = Cli.Opt("--val-fraction", "Share of documents held out for validation.", 0.05);
        var seed = Cli.Opt("--seed", "Seed of the train/validation split.", 1337L);
        var prepare = new Command("prepare", "Encodes documents into memory-mapped token shards with a train/validation split.") { input, tokenizer, output, validation, seed };
        prepare.SetHandler((p, _) =>
        {
            var tok = Tokenizers.Load(p.GetValue(tokenizer)!);
            var documents = DocumentReader.Read(p.GetValue(input)!);
            ShardSummary summary = null!;
            AnsiConsole.Status().Start("encoding...", ctx =>
            {
                var progress = new InlineProgress<ShardProgress>(s => ctx.Status($"encoding: {s.Documents:N0} documents, {s.TrainTokens + s.ValidationTokens:N0} tokens"));
                summary = TokenShardWriter.Prepare(documents, tok, p.GetValue(output)!, p.GetValue(validation), p.GetValue(seed), progress);
            });
            var table = new Table().AddColumns("split", "documents", "tokens", "file");
            table.AddRow("train", summary.TrainDocuments.ToString("N0"), summary.TrainTokens.ToString("N0"), Markup.Escape(summary.TrainPath));
            table.AddRow("validation", summary.ValidationDocuments.ToString("N0"), summary.ValidationTokens.ToString("N0"), Markup.Escape(summary.ValidationPath));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"tokenizer {summary.TokenizerName} ({summary.VocabSize:N0} ids, {summary.DType}), {summary.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return new Command("data", "Prepares training data.") { prepare };
    }
}
