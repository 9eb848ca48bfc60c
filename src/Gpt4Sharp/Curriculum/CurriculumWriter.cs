using System.Text;
using Gpt4Sharp.Curriculum.Code;
using Microsoft.ML.Tokenizers;

namespace Gpt4Sharp.Curriculum;

/// <summary>What a family's output looks like on disk.</summary>
public enum OutputFormat
{
    /// <summary>Full items, one JSON object per line (plus PNGs for pictures and HumanEval rows for code).</summary>
    Items,
    /// <summary>OpenAI chat shape {"messages":[...]} per line.</summary>
    Chat,
    /// <summary>Plain pretraining documents, one JSON string per line ({"text": ...}).</summary>
    Text,
}

/// <summary>One family's part of a make run.</summary>
public sealed record MakeSummary(string Family, Split Split, int Items, double MeanTokens, int Images, string Path, TimeSpan Elapsed);

/// <summary>
/// Writes a family's items to disk. Items are made in parallel blocks (each depends only
/// on its index) and written in index order, so the files are identical for any core count.
/// </summary>
public static class CurriculumWriter
{
    const int Block = 4096;
    const int TokenSamples = 4000;

    static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    /// <summary>cl100k_base token count, the unit the summary tables report.</summary>
    public static int CountTokens(string text) => Cl100k.Value.CountTokens(text);

    public static string FileName(ICurriculumFamily family, Split split, OutputFormat format) =>
        $"{family.Name}.{split.ToString().ToLowerInvariant()}{format switch { OutputFormat.Chat => ".chat", OutputFormat.Text => ".text", _ => "" }}.jsonl";

    public static string ImageFileName(CurriculumItem item) => item.Id.Replace(':', '_') + ".png";

    public static MakeSummary Write(ICurriculumFamily family, long seed, Split split, int count, string outDir, OutputFormat format,
        string? systemPrompt = null, Action<int>? progress = null, CancellationToken cancel = default)
    {
        if (count <= 0) throw new UserError($"Count is {count}; ask for at least one item.");
        Directory.CreateDirectory(outDir);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var path = Path.Combine(outDir, FileName(family, split, format));
        var imageFamily = format == OutputFormat.Items ? family as IImageFamily : null;
        var imageDir = Path.Combine(outDir, $"{family.Name}-images");
        if (imageFamily is not null) Directory.CreateDirectory(imageDir);
        var humanEval = format == OutputFormat.Items && family is CodeFamily
            ? new StreamWriter(Path.Combine(outDir, $"code.{split.ToString().ToLowerInvariant()}.humaneval.jsonl"), false, new UTF8Encoding(false))
            : null;
        var sampleEvery = Math.Max(1, count / TokenSamples);
        long tokens = 0;
        var sampled = 0;
        using (var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16))
        using (humanEval)
        {
            var lines = new string[Block];
            var items = new CurriculumItem[Block];
            for (var start = 0; start < count; start += Block)
            {
                cancel.ThrowIfCancellationRequested();
                var n = Math.Min(Block, count - start);
                Parallel.For(0, n, new ParallelOptions { CancellationToken = cancel }, i =>
                {
                    var item = family.Make(seed, split, start + i);
                    if (imageFamily is not null)
                    {
                        item = item with { Image = $"{family.Name}-images/{ImageFileName(item)}" };
                        File.WriteAllBytes(Path.Combine(imageDir, ImageFileName(item)), imageFamily.RenderPng(item));
                    }
                    items[i] = item;
                    lines[i] = format switch
                    {
                        OutputFormat.Chat => CurriculumJson.ToLine(Mixture.ToChat(item, systemPrompt)),
                        OutputFormat.Text => CurriculumJson.ToLine(new { text = Mixture.ToDocument(item) }),
                        _ => CurriculumJson.ToLine(item),
                    };
                });
                for (var i = 0; i < n; i++)
                {
                    writer.WriteLine(lines[i]);
                    if (humanEval is not null) humanEval.WriteLine(CurriculumJson.ToLine(CodeFamily.ToHumanEval(items[i])));
                    if ((start + i) % sampleEvery == 0)
                    {
                        tokens += CountTokens(TokenText(items[i]));
                        sampled++;
                    }
                }
                progress?.Invoke(n);
            }
        }
        return new MakeSummary(family.Name, split, count, sampled == 0 ? 0 : (double)tokens / sampled,
            imageFamily is null ? 0 : count, path, started.Elapsed);
    }

    /// <summary>The text a model reads and writes for an item: earlier turns, the question and the reply.</summary>
    public static string TokenText(CurriculumItem item) =>
        item.History is null ? item.Prompt + "\n" + item.Response
            : string.Join("\n", item.History.Select(m => m.Content)) + "\n" + item.Prompt + "\n" + item.Response;
}
