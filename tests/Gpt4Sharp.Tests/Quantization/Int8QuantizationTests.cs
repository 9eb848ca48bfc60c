using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Inference;
using Gpt4Sharp.Model;
using Gpt4Sharp.Quantization;
using Gpt4Sharp.Tests.Interop;
using Gpt4Sharp.Tests.Support;
using Gpt4Sharp.Tests.Training;
using Gpt4Sharp.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Quantization;

public class Int8QuantizationTests(ITestOutputHelper output)
{
    [Fact]
    public void QuantisedCheckpointLoadsWithValidationLossWithinOnePercent()
    {
        var config = new GptConfig { VocabSize = 640, ContextLength = 64, DModel = 32, Layers = 2, Heads = 2, KvHeads = 2, FfnHidden = 64 };
        using var model = new GptModel(config, seed: 7);
        var data = new PatternData(640, length: 4096, seed: 11);
        var train = new TrainConfig { Steps = 40, BatchSize = 8, SequenceLength = 32, WarmupSteps = 5, EvalEvery = 1000, EvalBatches = 4, CheckpointEvery = 1000, LearningRate = 1e-2 };
        using (var trainer = new Trainer(model, train, data)) trainer.Run();
        double fp32 = ValidationLoss(model, data);

        var dir = Path.Combine(RepoPaths.NewTempDir(), "int8");
        var result = Int8Quantization.Save(model, InteropModels.Tokenizer, dir);
        Assert.Equal(config.Layers * 7 + 1, result.Matrices); // 7 per layer + the tied embedding
        Assert.True(result.Int8Bytes < result.Fp32Bytes * 0.35, $"{result.Int8Bytes} bytes vs {result.Fp32Bytes} fp32");

        using var bundle = ModelBundle.Load(dir);
        double int8 = ValidationLoss(bundle.Model, data);
        output.WriteLine($"validation loss fp32 {fp32:F4}, int8 {int8:F4} ({(int8 / fp32 - 1) * 100:+0.00;-0.00}%)");
        Assert.True(fp32 < 4.0, $"the model did not learn (loss {fp32})");
        Assert.True(int8 <= fp32 * 1.01, $"int8 loss {int8} is more than 1% above fp32 {fp32}");
        Assert.NotEqual(fp32, int8); // the weights really went through int8

        // Decoding multiplies the int8 weights (and int8 inputs) directly: same bound.
        Assert.Equal(DecodeWeights.Int8, bundle.DecodeWeights);
        double decodedFp32 = DecoderLoss(new CpuDecoder(model), data);
        double decoded = DecoderLoss(new CpuDecoder(bundle.Model, DecodeWeights.Int8), data);
        output.WriteLine($"validation loss through the CPU decoder: fp32 {decodedFp32:F4}, int8 {decoded:F4} ({(decoded / decodedFp32 - 1) * 100:+0.00;-0.00}%)");
        Assert.True(decoded <= decodedFp32 * 1.01, $"int8 decoding loss {decoded} is more than 1% above fp32 {decodedFp32}");
        Assert.NotEqual(decodedFp32, decoded);
    }

    /// <summary>Mean next-token loss of the first validation windows, fed token by token through the decoder.</summary>
    static double DecoderLoss(CpuDecoder decoder, PatternData data)
    {
        var losses = new List<double>();
        foreach (var (input, target) in data.ValidationBatches(8, 32, 1, CPU))
            using (input)
            using (target)
                for (int row = 0; row < input.shape[0]; row++)
                {
                    var ids = input[row].data<long>().ToArray();
                    var next = target[row].data<long>().ToArray();
                    var sequence = decoder.NewSequence(ids.Length);
                    var logits = sequence.Prefill([(int)ids[0]]).ToArray();
                    for (int t = 0; ; t++)
                    {
                        double logSum = Math.Log(logits.Sum(l => Math.Exp(l - logits.Max()))) + logits.Max();
                        losses.Add(logSum - logits[next[t]]);
                        if (t + 1 == ids.Length) break;
                        logits = sequence.Step((int)ids[t + 1]).ToArray();
                    }
                }
        return losses.Average();
    }

    [Fact]
    public void ScalesArePerOutputChannelAndRoundTripIsWithinHalfAStep()
    {
        var w = torch.randn(8, 32, generator: new Generator(3)) * torch.arange(1, 9).unsqueeze(1);
        var (values, scales) = Int8Quantization.Quantize(w);
        Assert.Equal(ScalarType.Int8, values.dtype);
        Assert.Equal([8L], scales.shape);
        Assert.Equal(127, values.abs().amax([1L]).to(ScalarType.Int32).data<int>().ToArray().Distinct().Single());
        var error = (Int8Quantization.Dequantize(values, scales) - w).abs().amax([1L]);
        Assert.True((error <= scales * 0.5 + 1e-6).all().item<bool>());
    }

    [Fact]
    public void RefusesToOverwriteACheckpoint()
    {
        using var model = InteropModels.Create();
        var dir = Path.Combine(RepoPaths.NewTempDir(), "q");
        Int8Quantization.Save(model, InteropModels.Tokenizer, dir);
        Assert.Contains("new output directory", Assert.Throws<UserError>(() => Int8Quantization.Save(model, InteropModels.Tokenizer, dir)).Message);
    }

    static double ValidationLoss(GptModel model, PatternData data)
    {
        using var noGrad = torch.no_grad();
        model.eval();
        var losses = new List<double>();
        foreach (var (input, target) in data.ValidationBatches(8, 32, 8, CPU))
        {
            using var scope = torch.NewDisposeScope();
            losses.Add(GptModel.Loss(model.Forward(input), target).item<float>());
        }
        return losses.Average();
    }
}
