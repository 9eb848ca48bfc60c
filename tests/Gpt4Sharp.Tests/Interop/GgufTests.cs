using Gpt4Sharp.Interop;
using Gpt4Sharp.Tests.Support;
using LLama;
using LLama.Common;
using LLama.Native;
using Xunit.Abstractions;

namespace Gpt4Sharp.Tests.Interop;

/// <summary>Exports to GGUF and runs the file in llama.cpp through LLamaSharp (CPU backend).</summary>
public class GgufTests(ITestOutputHelper output)
{
    const string Prompt = "The quick brown fox jumps over the lazy dog.";

    [Fact]
    public void F32ExportMatchesOurLogitsAndGreedyTokensInLlamaCpp()
    {
        using var model = InteropModels.Create();
        var path = Path.Combine(RepoPaths.NewTempDir(), "tiny-f32.gguf");
        GgufExport.Export(model, InteropModels.Tokenizer, path, GgmlType.F32);
        var prompt = InteropModels.Tokenizer.Encode(Prompt);

        using var llama = LlamaCpp.Open(path, contextSize: 96);
        var theirs = llama.AllLogits(prompt);
        var ours = InteropModels.AllLogits(model, prompt);
        float worst = 0;
        for (int t = 0; t < prompt.Length; t++)
            for (int v = 0; v < ours.GetLength(1); v++)
                worst = Math.Max(worst, Math.Abs(ours[t, v] - theirs[t][v]));
        output.WriteLine($"largest logit difference over {prompt.Length} positions: {worst:E2}");
        Assert.True(worst < 1e-3, $"logits differ by {worst}");

        var ourTokens = InteropModels.Greedy(model, prompt, 32);
        var theirTokens = llama.Greedy(prompt, 32);
        Assert.Equal(ourTokens, theirTokens);
    }

    [Fact]
    public void LlamaCppTokenisesLikeOurTokenizer()
    {
        using var model = InteropModels.Create();
        var path = Path.Combine(RepoPaths.NewTempDir(), "tiny-tok.gguf");
        GgufExport.Export(model, InteropModels.Tokenizer, path, GgmlType.F16);
        using var llama = LlamaCpp.Open(path, contextSize: 96);
        foreach (var text in new[] { Prompt, "It's what they'll say; we're sure you've read it.", "numbers 1234567 and 3.14159\n\n  def add(a, b):", "大语言模型 naïve café 😀" })
            Assert.Equal(InteropModels.Tokenizer.Encode(text), llama.Tokenize(text));
    }

    [Fact]
    public void Q8ExportStaysCloseAndF16IsHalfTheSize()
    {
        using var model = InteropModels.Create(tied: false);
        var dir = RepoPaths.NewTempDir();
        var f32 = Path.Combine(dir, "m-f32.gguf");
        var f16 = Path.Combine(dir, "m-f16.gguf");
        var q8 = Path.Combine(dir, "m-q8.gguf");
        GgufExport.Export(model, InteropModels.Tokenizer, f32, GgmlType.F32);
        GgufExport.Export(model, InteropModels.Tokenizer, f16, GgmlType.F16);
        GgufExport.Export(model, InteropModels.Tokenizer, q8, GgmlType.Q8_0);
        Assert.InRange(new FileInfo(f16).Length, new FileInfo(f32).Length * 0.45, new FileInfo(f32).Length * 0.6);
        Assert.True(new FileInfo(q8).Length < new FileInfo(f16).Length);

        var prompt = InteropModels.Tokenizer.Encode(Prompt);
        var ours = InteropModels.LastLogits(model, prompt);
        using var llama = LlamaCpp.Open(q8, contextSize: 96);
        var theirs = llama.AllLogits(prompt)[^1];
        double spread = ours.Max() - ours.Min();
        double worst = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"Q8_0: largest logit difference {worst:F4} on a logit range of {spread:F2}");
        Assert.True(worst < 0.05 * spread, $"Q8_0 logits differ by {worst} (range {spread})");
        Assert.Equal(Array.IndexOf(ours, ours.Max()), Array.IndexOf(theirs, theirs.Max()));
    }

    [Fact]
    public void Q8_0BlocksHoldScaleAndRoundedValues()
    {
        var values = Enumerable.Range(0, 64).Select(i => (i - 20) * 0.5f).ToArray();
        var bytes = GgufExport.QuantizeQ8_0(values);
        Assert.Equal(2 * 34, bytes.Length);
        float d = (float)BitConverter.ToHalf(bytes, 0);
        Assert.Equal(10f / 127f, d, 3);
        for (int i = 0; i < 32; i++) Assert.Equal(values[i], (sbyte)bytes[2 + i] * d, 1);
    }
}

/// <summary>A GGUF model opened in llama.cpp through LLamaSharp, with the native log silenced.</summary>
sealed class LlamaCpp : IDisposable
{
    static LlamaCpp() => NativeLibraryConfig.All.WithLogCallback((_, _) => { });

    readonly LLamaWeights weights;
    readonly LLamaContext context;

    LlamaCpp(LLamaWeights weights, LLamaContext context)
    {
        this.weights = weights;
        this.context = context;
    }

    /// <summary>
    /// fp32 KV cache (llama.cpp's default is F16) and no flash attention: llama.cpp's CPU flash
    /// attention rounds through fp16 (about 3e-3 on these logits), the plain path is fp32 (2e-6).
    /// </summary>
    public static LlamaCpp Open(string path, uint contextSize)
    {
        var parameters = new ModelParams(path) { ContextSize = contextSize, GpuLayerCount = 0, BatchSize = contextSize, UBatchSize = contextSize, Threads = 2, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false };
        var weights = LLamaWeights.LoadFromFile(parameters);
        return new LlamaCpp(weights, weights.CreateContext(parameters));
    }

    public int[] Tokenize(string text) => [.. weights.Tokenize(text, false, false, System.Text.Encoding.UTF8).Select(t => (int)t)];

    /// <summary>Logits at every prompt position, from a fresh sequence.</summary>
    public float[][] AllLogits(int[] prompt)
    {
        context.NativeHandle.MemoryClear();
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: true);
        Check(context.Decode(batch));
        return [.. Enumerable.Range(0, prompt.Length).Select(i => context.NativeHandle.GetLogitsIth(i).ToArray())];
    }

    public int[] Greedy(int[] prompt, int count)
    {
        context.NativeHandle.MemoryClear();
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Length - 1);
        var output = new List<int>();
        int position = prompt.Length;
        for (int n = 0; n < count; n++)
        {
            Check(context.Decode(batch));
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int next = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[next]) next = v;
            output.Add(next);
            batch.Clear();
            batch.Add(next, position++, LLamaSeqId.Zero, logits: true);
        }
        return [.. output];
    }

    static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}");
    }

    public void Dispose()
    {
        context.Dispose();
        weights.Dispose();
    }
}
