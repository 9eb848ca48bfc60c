using Gpt4Sharp.Model;
using Gpt4Sharp.Tests.Text;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Interop;

/// <summary>Tiny models for the interop tests, with weights large enough that greedy choices are clear-cut.</summary>
static class InteropModels
{
    public static ITokenizer Tokenizer => TestTokenizers.Ours;

    /// <summary>A model over the shared test tokenizer, vocabulary padded past the tokenizer's to exercise unused slots.</summary>
    public static GptModel Create(bool tied = true, int kvHeads = 2, long seed = 3)
    {
        var config = new GptConfig
        {
            VocabSize = 640, ContextLength = 96, DModel = 64, Layers = 2, Heads = 4, KvHeads = kvHeads, FfnHidden = 96, TiedEmbeddings = tied,
        };
        var model = new GptModel(config, seed);
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (p.dim() == 2) p.mul_(6); // N(0, 0.12): logits spread far beyond float rounding
        model.eval();
        return model;
    }

    public static float[] LastLogits(GptModel model, int[] ids)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var logits = model.Forward(torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0));
        return logits[0, -1].data<float>().ToArray();
    }

    public static float[,] AllLogits(GptModel model, int[] ids)
    {
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        var logits = model.Forward(torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0];
        var flat = logits.data<float>().ToArray();
        int v = (int)logits.shape[1];
        var result = new float[ids.Length, v];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    /// <summary>Greedy continuation with the KV cache, as TextGenerator decodes.</summary>
    public static int[] Greedy(GptModel model, int[] prompt, int count)
    {
        using var inference = torch.inference_mode();
        using var cache = model.NewCache();
        var output = new List<int>();
        var input = prompt;
        for (int i = 0; i < count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.Forward(torch.tensor(input.Select(t => (long)t).ToArray()).unsqueeze(0), cache);
            int next = (int)logits[0, -1].argmax().item<long>();
            output.Add(next);
            input = [next];
        }
        return [.. output];
    }
}
