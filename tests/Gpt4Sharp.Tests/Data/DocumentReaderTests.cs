using Gpt4Sharp.Data;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Data;

public class DocumentReaderTests
{
    [Fact]
    public void Text_files_split_at_blank_lines_or_stay_whole()
    {
        var dir = RepoPaths.NewTempDir();
        var file = Path.Combine(dir, "a.txt");
        File.WriteAllText(file, "\nfirst line\nsecond line\n\n  \n\nnext doc\r\nstill next\n\n");
        Assert.Equal(["first line\nsecond line", "next doc\nstill next"], DocumentReader.ReadFile(file));
        Assert.Single(DocumentReader.ReadFile(file, TextSplit.WholeFile));
    }

    [Fact]
    public void Jsonl_reads_the_text_field_and_skips_empty_lines()
    {
        var dir = RepoPaths.NewTempDir();
        var file = Path.Combine(dir, "d.jsonl");
        File.WriteAllText(file, "{\"text\": \"one\", \"id\": 1}\n\n{\"text\": \"two\\nlines\"}\n");
        Assert.Equal(["one", "two\nlines"], DocumentReader.ReadFile(file));
    }

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": broken}\n", "line 3 is not valid JSON")]
    [InlineData("{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n", "line 2 has no \"text\" string field")]
    [InlineData("{\"text\": 5}\n", "line 1 has no \"text\" string field")]
    [InlineData("[\"text\"]\n", "line 1 has no \"text\" string field")]
    public void Bad_jsonl_lines_name_file_and_line(string content, string expected)
    {
        var file = Path.Combine(RepoPaths.NewTempDir(), "bad.jsonl");
        File.WriteAllText(file, content);
        var e = Assert.Throws<UserError>(() => DocumentReader.ReadFile(file).ToList());
        Assert.Contains(file, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Directories_are_read_in_ordinal_path_order_and_bad_paths_are_user_errors()
    {
        var dir = RepoPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "b.txt"), "from b");
        File.WriteAllText(Path.Combine(dir, "a.jsonl"), "{\"text\":\"from a\"}");
        File.WriteAllText(Path.Combine(dir, "sub", "c.txt"), "from sub/c");
        File.WriteAllText(Path.Combine(dir, "ignored.md"), "not read");
        Assert.Equal(["from a", "from b", "from sub/c"], DocumentReader.Read([dir]));

        Assert.Contains("does not exist", Assert.Throws<UserError>(() => DocumentReader.Read([Path.Combine(dir, "missing")]).ToList()).Message);
        Assert.Contains("neither a .txt nor a .jsonl", Assert.Throws<UserError>(() => DocumentReader.Read([Path.Combine(dir, "ignored.md")]).ToList()).Message);
    }
}
