using Gpt4Sharp.Data;
using Gpt4Sharp.Model;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Text;
using Gpt4Sharp.Training;
using TorchSharp;

namespace Gpt4Sharp.Tests.Stages;

public class FineTuningTests
{
    static readonly ByteTokenizer Bytes = new();

    [Fact]
    public void Chat_batches_learn_only_assistant_tokens()
    {
        using var scope = torch.NewDisposeScope();
        var conversation = new List<ChatMessage> { new("system", "Be brief."), new("user", "Hi"), new("assistant", "Yo") };
        var data = new ChatData([conversation], Bytes, seed: 1);
        var (input, target) = data.TrainBatch(0, 0, batchSize: 2, seqLen: 64, torch.CPU);
        var encoded = ChatTemplate.Encode(Bytes, conversation);
        var learned = target[0].data<long>().ToArray().Where(t => t != -100).Select(t => (int)t).ToArray();
        Assert.Equal(Bytes.Encode("Yo").Append(Bytes.SpecialTokenId(SpecialTokens.EndOfTurn)!.Value), learned);
        Assert.Equal(encoded.Ids.Length - 1, input.shape[1]);
    }

    [Fact]
    public void Bad_chat_lines_name_file_and_line()
    {
        var file = Path.Combine(RepoPaths.NewTempDir(), "chat.jsonl");
        File.WriteAllLines(file, ["{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}", "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}"]);
        var e = Assert.Throws<UserError>(() => ChatJsonl.Read(file).ToList());
        Assert.Contains("chat.jsonl:2", e.Message);
        File.WriteAllText(file, "{not json");
        Assert.Contains("not valid JSON", Assert.Throws<UserError>(() => ChatJsonl.Read(file).ToList()).Message);
    }

    [Fact]
    public void Sft_on_a_pretrained_run_lowers_assistant_loss_and_loads_back()
    {
        var pretrained = RepoPaths.NewTempDir();
        Pretraining.Run(new PretrainSettings
        {
            OutDirectory = pretrained, TokenizerVocabSize = 320, CorpusDocuments = 300, Device = "cpu", MeasureMfu = false, SamplePrompts = [],
            Model = new GptConfig { ContextLength = 96, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 },
            Train = new TrainConfig { Steps = 4, BatchSize = 4, SequenceLength = 32, EvalEvery = 0, CheckpointEvery = 0 },
        }, resume: false);

        var chats = Path.Combine(RepoPaths.NewTempDir(), "chats.jsonl");
        File.WriteAllLines(chats, Enumerable.Range(0, 40).Select(i =>
            $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"Say ok {i % 4}\"}}, {{\"role\": \"assistant\", \"content\": \"ok {i % 4}\"}}]}}"));
        var sft = RepoPaths.NewTempDir();
        var result = FineTuning.Run(new FineTuneSettings
        {
            BaseModel = pretrained, OutDirectory = sft, DataFile = chats, Device = "cpu", SamplePrompts = ["Say ok 1"],
            Train = new TrainConfig { Steps = 30, BatchSize = 8, SequenceLength = 64, LearningRate = 1e-2, WarmupSteps = 3, EvalEvery = 15, EvalBatches = 2, CheckpointEvery = 0 },
        }, resume: false);
        Assert.True(result.Completed);
        Assert.True(result.FinalValidationLoss < result.InitialValidationLoss * 0.5, $"{result.InitialValidationLoss} -> {result.FinalValidationLoss}");
        Assert.Single(result.Samples);
        using var bundle = Gpt4Sharp.Checkpoints.ModelBundle.Load(sft);
        Assert.Equal(30, Gpt4Sharp.Checkpoints.CheckpointStore.Inspect(sft).Step);
    }
}
