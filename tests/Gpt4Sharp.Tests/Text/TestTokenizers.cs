using Gpt4Sharp.Text;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Text;

/// <summary>Tokenizers shared by the text tests, built once per test run.</summary>
public static class TestTokenizers
{
    /// <summary>A few kilobytes of English, Chinese, code and emoji: enough for a few hundred merges.</summary>
    public static readonly string[] Corpus =
    [
        "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away!\n",
        "GPT-4 is a large multimodal model that accepts image and text inputs and emits text outputs.\n",
        "大语言模型通过预训练学习语言的统计规律,然后通过人类反馈的强化学习对齐人类的偏好。\n",
        "模型的能力随着参数量和数据量的增长而涌现,思维链提示可以提升推理能力。\n",
        "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # 5\n",
        "Emoji 😀🚀 and accents: naïve café résumé, numbers 1234567 and 3.14159.\n",
        "<|endoftext|>It's what they'll say; we're sure you've read it, I'm told.\n",
    ];

    static readonly Lazy<(BpeModel Model, string Dir, ITokenizer Tokenizer)> Trained = new(() =>
    {
        var texts = Enumerable.Range(0, 8).SelectMany(_ => Corpus).ToArray();
        var model = BpeTrainer.Train(texts, vocabSize: 600);
        var dir = RepoPaths.NewTempDir("g4s-bpe");
        model.Save(dir);
        return (model, dir, Tokenizers.Load(dir));
    });

    public static BpeModel Model => Trained.Value.Model;
    public static string Directory => Trained.Value.Dir;
    public static ITokenizer Ours => Trained.Value.Tokenizer;

    static readonly Dictionary<string, Lazy<ITokenizer>> Tiktoken =
        Tokenizers.TiktokenEncodings.ToDictionary(name => name, name => new Lazy<ITokenizer>(() => Tokenizers.Load(name)));

    public static ITokenizer Get(string name) => name == "ours" ? Ours : Tiktoken[name].Value;
}
