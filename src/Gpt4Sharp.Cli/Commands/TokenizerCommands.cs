using Gpt4Sharp.Runtime;
using System.CommandLine;
using System.Diagnostics;
using Gpt4Sharp.Data;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"tokenizer train" builds our byte-level BPE; "tokens count" measures any tokenizer on a file.</summary>
public static class TokenizerCommands
{
    /// <summary>"tokenizer train".</summary>
    public static Command Create()
    {
        var input = new Option<string[]>("--input")
        {
            Description = "Text files, JSONL files (one {\"text\": ...} per line) or directories of them.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var vocabSize = Cli.Opt("--vocab-size", "Ids in total: 256 bytes + merges + special tokens.", 8192);
        var output = Cli.Required<string>("--out", "Directory for vocab.json, merges.txt and special_tokens.json.");
        var train = new Command("train", "Trains a byte-level BPE tokenizer with GPT-4's pre-tokenizer.") { input, vocabSize, output };
        train.SetHandler((parse, cancel) =>
        {
            var paths = parse.GetValue(input)!;
            int size = parse.GetValue(vocabSize);
            var dir = parse.GetValue(output)!;
            var documents = DocumentReader.Read(paths).ToList();
            var clock = Stopwatch.StartNew();
            BpeModel? model = null;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var preTokenize = ctx.AddTask("pre-tokenizing");
                    var merge = ctx.AddTask("merging");
                    var progress = new InlineProgress<BpeTrainingProgress>(p =>
                    {
                        var task = p.Stage == "merging" ? merge : preTokenize;
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Done;
                    });
                    model = BpeTrainer.Train(documents, size, progress, cancel);
                    preTokenize.Value = preTokenize.MaxValue;
                    merge.Value = merge.MaxValue;
                });
            model!.Save(dir);
            RunInfo.Capture("tokenizer train", 0, new { input = paths, vocab_size = size, @out = dir }).Write(dir);

            var table = new Table().AddColumns("what", "value");
            table.AddRow("documents", documents.Count.ToString("N0"));
            table.AddRow("training text", $"{model.TrainingBytes / 1e6:F2} MB");
            table.AddRow("vocab size", $"{model.VocabSize:N0} ({SpecialTokens.All.Count} special)");
            table.AddRow("merges", model.Merges.Count.ToString("N0"));
            table.AddRow("time", $"{clock.Elapsed.TotalSeconds:F1} s");
            table.AddRow("compression", $"{model.BytesPerToken:F2} bytes/token");
            table.AddRow("saved to", Markup.Escape(Path.GetFullPath(dir)));
            AnsiConsole.Write(table);
            if (model.VocabSize < size)
                AnsiConsole.MarkupLine($"[yellow]The text had no pairs left after {model.Merges.Count} merges; give more text for {size} ids.[/]");
            return 0;
        });
        return new Command("tokenizer", "Trains byte-level BPE tokenizers.") { train };
    }

    /// <summary>"tokens count".</summary>
    public static Command CreateTokens()
    {
        var tokenizer = Cli.Opt("--tokenizer", $"{string.Join(", ", Tokenizers.TiktokenEncodings)} or a directory from 'tokenizer train'.", "cl100k_base");
        var file = new Argument<string>("file") { Description = "UTF-8 text file to count." };
        var count = new Command("count", "Counts tokens of a text file, overall and per Han (Chinese) character.") { tokenizer, file };
        count.SetHandler((parse, _) =>
        {
            var path = parse.GetValue(file)!;
            if (!File.Exists(path)) throw new UserError($"File '{path}' does not exist; pass a UTF-8 text file.");
            var loaded = Tokenizers.Load(parse.GetValue(tokenizer)!);
            var counts = TokenCount.Measure(loaded, File.ReadAllText(path));
            var table = new Table().AddColumns("tokenizer", "tokens", "characters", "tokens/char", "Han chars", "tokens/Han char");
            table.AddRow(Markup.Escape(loaded.Name), counts.Tokens.ToString("N0"), counts.Characters.ToString("N0"), counts.TokensPerCharacter.ToString("F3"),
                counts.HanCharacters.ToString("N0"), counts.HanCharacters == 0 ? "-" : counts.TokensPerHanCharacter.ToString("F3"));
            AnsiConsole.Write(table);
            return 0;
        });
        return new Command("tokens", "Measures tokenizers on text.") { count };
    }
}
