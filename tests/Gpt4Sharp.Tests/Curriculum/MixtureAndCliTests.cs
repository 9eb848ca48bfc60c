using System.Text.Json;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Curriculum;

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class MixtureAndCliTests
{
    [Fact]
    public void Mixture_follows_weights_caps_and_seed()
    {
        var mixture = new Mixture
        {
            Seed = 3, Count = 2000,
            Weights = new() { ["arithmetic"] = 3, ["bridge"] = 1 },
            MaxDifficulty = new() { ["arithmetic"] = 2 },
        };
        var items = mixture.Items().ToList();
        var share = items.Count(p => p.Family.Name == "arithmetic") / 2000.0;
        Assert.InRange(share, 0.70, 0.80);
        Assert.All(items.Where(p => p.Family.Name == "arithmetic"), p => Assert.InRange(p.Item.Difficulty, 1, 2));
        Assert.Equal(mixture.PretrainDocuments().Take(50), mixture.PretrainDocuments().Take(50));
        Assert.NotEqual(mixture.PretrainDocuments().Take(50), (mixture with { Seed = 4 }).PretrainDocuments().Take(50));
    }

    [Fact]
    public void Default_pretrain_mixture_is_short_regular_text_with_answers()
    {
        var docs = Mixture.DefaultPretrain(1, 2000).PretrainDocuments().ToList();
        var meanTokens = docs.Take(500).Average(CurriculumWriter.CountTokens);
        Assert.InRange(meanTokens, 10, 90);
        Assert.Contains(docs, d => d.StartsWith("Q: What is", StringComparison.Ordinal) && d.Contains("answer: "));
        Assert.Contains(docs, d => d.Contains("def "));
        Assert.Contains(docs, d => d.Contains("User: ") && d.Contains("Assistant: "));
    }

    [Fact]
    public void Chat_examples_have_the_openai_shape()
    {
        var chats = Mixture.DefaultFineTune(2, 300).ChatExamples().ToList();
        foreach (var chat in chats)
        {
            Assert.Equal("system", chat.Messages[0].Role);
            Assert.Equal("assistant", chat.Messages[^1].Role);
            Assert.All(chat.Messages.Skip(1), m => Assert.Contains(m.Role, new[] { "user", "assistant" }));
        }
        using var doc = JsonDocument.Parse(CurriculumJson.ToLine(chats[0]));
        Assert.Equal("system", doc.RootElement.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.True(doc.RootElement.GetProperty("messages")[1].TryGetProperty("content", out _));
    }

    [Fact]
    public void Mixture_files_load_and_bad_ones_say_what_to_fix()
    {
        var dir = RepoPaths.NewTempDir();
        var path = Path.Combine(dir, "mix.json");
        File.WriteAllText(path, """{"seed": 5, "count": 20, "split": "eval", "weights": {"knowledge": 1, "safety": 2}, "max_difficulty": {"knowledge": 1}}""");
        var mixture = Mixture.Load(path);
        Assert.Equal(Split.Eval, mixture.Split);
        Assert.All(mixture.Items(), p => Assert.Equal(Split.Eval, p.Item.Split));
        File.WriteAllText(path, """{"count": 20, "weights": {"charts": 1}}""");
        Assert.Contains("curriculum make", Assert.Throws<UserError>(() => Mixture.Load(path)).Message);
        File.WriteAllText(path, """{"count": 20, "weights": {"nope": 1}}""");
        Assert.Contains("Unknown curriculum family", Assert.Throws<UserError>(() => Mixture.Load(path)).Message);
        File.WriteAllText(path, "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<UserError>(() => Mixture.Load(path)).Message);
    }

    [Fact]
    public async Task Make_then_check_scores_canonical_answers_right_and_corrupted_ones_wrong()
    {
        var dir = RepoPaths.NewTempDir();
        var command = CurriculumCommands.Create();
        Assert.Equal(0, await command.Parse(["make", "--families", "arithmetic,charts", "--count", "40", "--split", "eval", "--out", dir]).InvokeAsync());
        var items = File.ReadLines(Path.Combine(dir, "arithmetic.eval.jsonl")).Select(CurriculumJson.ItemFromLine).ToList();
        Assert.Equal(40, items.Count);
        Assert.Equal(40, Directory.GetFiles(Path.Combine(dir, "charts-images"), "*.png").Length);
        Assert.True(File.Exists(Path.Combine(dir, "run.json")));

        var answers = Path.Combine(dir, "answers.jsonl");
        File.WriteAllLines(answers, items.Select((item, k) => JsonSerializer.Serialize(new { id = item.Id, answer = k % 2 == 0 ? item.Response : "answer: -1" })));
        var scored = AnswerScoring.ReadAnswers(answers).Select(a => AnswerScoring.Score(CurriculumRegistry.Get("arithmetic"), a.Id, a.Answer)).ToList();
        Assert.Equal(20, scored.Count(s => s.Correct));
        var report = Path.Combine(dir, "report.jsonl");
        Assert.Equal(0, await command.Parse(["check", "--family", "arithmetic", "--answers", answers, "--report", report]).InvokeAsync());
        Assert.Equal(20, File.ReadLines(report).Count(l => l.Contains("\"correct\":true")));
        // Wrong family for these ids: one sentence, exit 1.
        Assert.Equal(1, await command.Parse(["check", "--family", "bridge", "--answers", answers]).InvokeAsync());
    }

    [Fact]
    public async Task Mix_writes_text_and_chat_rows()
    {
        var dir = RepoPaths.NewTempDir();
        var command = CurriculumCommands.Create();
        var text = Path.Combine(dir, "pre.jsonl");
        var chat = Path.Combine(dir, "chat.jsonl");
        Assert.Equal(0, await command.Parse(["mix", "--preset", "pretrain", "--count", "300", "--out", text]).InvokeAsync());
        Assert.Equal(0, await command.Parse(["mix", "--preset", "finetune", "--count", "300", "--format", "chat", "--out", chat]).InvokeAsync());
        Assert.Equal(300, File.ReadLines(text).Count(l => l.StartsWith("{\"text\":", StringComparison.Ordinal)));
        Assert.Equal(300, File.ReadLines(chat).Count(l => l.StartsWith("{\"messages\":[{\"role\":\"system\"", StringComparison.Ordinal)));
        Assert.Equal(1, await command.Parse(["mix", "--preset", "huge", "--out", text]).InvokeAsync());
    }

    [Fact]
    public void Parallel_writer_output_is_byte_identical_across_runs()
    {
        var a = RepoPaths.NewTempDir();
        var b = RepoPaths.NewTempDir();
        foreach (var dir in new[] { a, b })
            foreach (var name in new[] { "dialogue", "charts" })
                CurriculumWriter.Write(CurriculumRegistry.Get(name), 9, Split.Train, name == "charts" ? 100 : 5000, dir, OutputFormat.Items);
        foreach (var file in Directory.GetFiles(a, "*", SearchOption.AllDirectories))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(b, Path.GetRelativePath(a, file))));
        Assert.Equal(5000, File.ReadLines(Path.Combine(a, "dialogue.train.jsonl")).Count());
        Assert.Equal(100, Directory.GetFiles(Path.Combine(a, "charts-images")).Length);
    }
}
