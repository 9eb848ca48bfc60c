using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Tests.Text;
using Gpt4Sharp.Training;

namespace Gpt4Sharp.Tests.Alignment;

/// <summary>A tiny untrained chat-capable model saved as a run directory (with a real BPE tokenizer), for stage-level alignment tests.</summary>
static class TinyRun
{
    public static GptConfig Config => new() { VocabSize = TestTokenizers.Ours.VocabSize, ContextLength = 128, DModel = 32, Layers = 1, Heads = 2, KvHeads = 2, FfnHidden = 64 };

    public static string Create(long seed = 7)
    {
        var dir = RepoPaths.NewTempDir("g4s-tiny");
        using var model = new GptModel(Config, seed);
        ModelBundle.CopyTokenizer(TestTokenizers.Ours, dir);
        new CheckpointStore(dir).Save(model, ModelBundle.ConfigJson(model.Config, TestTokenizers.Ours), null, new TrainerState { Step = 1 }, RunInfo.Capture("test", seed, null));
        return dir;
    }
}
