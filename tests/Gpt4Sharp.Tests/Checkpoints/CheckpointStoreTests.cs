using Gpt4Sharp.Training;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Tests.Checkpoints;

public class CheckpointStoreTests
{
    public sealed record TinyConfig(int Hidden, string Attention);

    static readonly TinyConfig Config = new(16, "dense");

    /// <summary>A two-layer MLP whose fields nest like Hugging Face Llama names (model.layers.0.up_proj.weight).</summary>
    sealed class Block : nn.Module<Tensor, Tensor>
    {
        readonly Linear up_proj, down_proj;
        public Block(int hidden) : base(nameof(Block))
        {
            up_proj = nn.Linear(8, hidden);
            down_proj = nn.Linear(hidden, 4);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => down_proj.forward(nn.functional.relu(up_proj.forward(x)));
    }

    sealed class Stack : nn.Module<Tensor, Tensor>
    {
        public readonly ModuleList<Block> layers;
        public Stack(int hidden) : base(nameof(Stack))
        {
            layers = nn.ModuleList(new Block(hidden));
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => layers[0].forward(x);
    }

    sealed class TinyModel : nn.Module<Tensor, Tensor>
    {
        public readonly Stack model;
        public TinyModel(int hidden) : base(nameof(TinyModel))
        {
            model = new Stack(hidden);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => model.forward(x);
    }

    static TinyModel Mlp(long seed, int hidden = 16)
    {
        TorchRuntime.Seed(seed);
        return new TinyModel(hidden);
    }

    /// <summary>AdamW with decay on weights only, as a language model trainer sets it up.</summary>
    static AdamW Optimizer(nn.Module model)
    {
        var named = model.named_parameters().ToList();
        return optim.AdamW(
        [
            new AdamW.ParamGroup(named.Where(p => p.name.EndsWith("weight")).Select(p => p.parameter), new AdamW.Options { LearningRate = 1e-2, weight_decay = 0.1 }),
            new AdamW.ParamGroup(named.Where(p => p.name.EndsWith("bias")).Select(p => p.parameter), new AdamW.Options { LearningRate = 1e-2, weight_decay = 0.0 }),
        ], lr: 1e-2, beta1: 0.9, beta2: 0.95);
    }

    /// <summary>Linear warm-up for 3 steps, then cosine decay to 10% over 10 steps.</summary>
    static double LearningRate(long step) => step < 3 ? 1e-2 * (step + 1) / 3 : 1e-3 + 0.5 * 9e-3 * (1 + Math.Cos(Math.PI * (step - 3) / 7.0));

    static double TrainStep(TinyModel model, AdamW optimizer, long step, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRate(step);
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(model.forward(x[step]), y[step]);
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    static TrainerState State(long step, IEnumerable<double> losses) =>
        new() { Step = step, TokensSeen = step * 32, Seed = 1, BestValLoss = losses.Min(), LossHistory = [.. losses.Select((l, i) => new LossPoint(i + 1, l))] };

    static RunInfo Run => RunInfo.Capture("test", 1, Config);

    [Fact]
    public void A_resumed_AdamW_run_continues_exactly_like_an_uninterrupted_one()
    {
        using var scope = NewDisposeScope();
        TorchRuntime.Seed(99);
        var x = randn(10, 32, 8);
        var y = randn(10, 32, 4);

        var reference = Mlp(seed: 1);
        var referenceOpt = Optimizer(reference);
        var expected = Enumerable.Range(0, 10).Select(s => TrainStep(reference, referenceOpt, s, x, y)).ToList();

        var store = new CheckpointStore(RepoPaths.NewTempDir());
        var first = Mlp(seed: 1);
        var firstOpt = Optimizer(first);
        var before = Enumerable.Range(0, 5).Select(s => TrainStep(first, firstOpt, s, x, y)).ToList();
        store.Save(first, Config, firstOpt, State(5, before), Run);

        var resumed = Mlp(seed: 12345); // different initial weights: the checkpoint must overwrite them
        var resumedOpt = Optimizer(resumed);
        var loaded = store.LoadLatest(resumed, resumedOpt)!;
        Assert.Equal(5, loaded.Step);
        Assert.Equal(before, loaded.State.LossHistory.Select(p => p.Loss));
        var after = Enumerable.Range((int)loaded.State.Step, 5).Select(s => TrainStep(resumed, resumedOpt, s, x, y)).ToList();

        Assert.Equal(expected.Take(5), before);
        Assert.Equal(expected.Skip(5), after);
        foreach (var ((name, p), (_, q)) in reference.named_parameters().Zip(resumed.named_parameters()))
            Assert.True(p.allclose(q, rtol: 0, atol: 0), $"{name} differs after resuming");
    }

    [Fact]
    public void Weights_keep_their_state_dict_names_and_inspect_summarises_them()
    {
        var run = RepoPaths.NewTempDir();
        var model = Mlp(seed: 2);
        new CheckpointStore(run).Save(model, Config, Optimizer(model), State(7, [2.5, 1.5]), Run);

        var summary = CheckpointStore.Inspect(run);
        Assert.Equal(7, summary.Step);
        Assert.Equal(
            ["model.layers.0.down_proj.bias", "model.layers.0.down_proj.weight", "model.layers.0.up_proj.bias", "model.layers.0.up_proj.weight"],
            summary.Tensors.Select(t => t.Name).Order());
        Assert.All(summary.Tensors, t => Assert.Equal("F32", t.DType));
        Assert.Equal(8 * 16 + 16 + 16 * 4 + 4, summary.ParameterCount);
        Assert.Equal(["config.json", "model.safetensors", "optimizer.bin", "run.json", "trainer_state.json"], summary.Files.Select(f => f.Name).Order());
        Assert.Equal(1.5, summary.State.BestValLoss);
        Assert.Equal("dense", (string)summary.Config["attention"]!);
        Assert.Equal(Config, CheckpointStore.ReadConfig<TinyConfig>(summary.Directory));
        Assert.Equal("test", summary.Run!.Command);
        Assert.Equal("step-000007", File.ReadAllText(Path.Combine(run, "checkpoints", "latest")).Trim());
    }

    [Fact]
    public void Only_the_newest_checkpoints_are_kept()
    {
        var store = new CheckpointStore(RepoPaths.NewTempDir(), keepLast: 2);
        var model = Mlp(seed: 3);
        for (var step = 1; step <= 4; step++) store.Save(model, Config, null, State(step, [1.0]), Run);
        Assert.Equal(["step-000004", "step-000003"], store.List().Select(Path.GetFileName));
        Assert.Empty(Directory.EnumerateDirectories(store.CheckpointsDirectory, ".*"));
    }

    public enum Damage { TruncatedWeights, FlippedByte, MissingFile, GarbageManifest }

    [Theory]
    [InlineData(Damage.TruncatedWeights, "has a")]
    [InlineData(Damage.FlippedByte, "has a damaged model.safetensors")]
    [InlineData(Damage.MissingFile, "is missing trainer_state.json")]
    [InlineData(Damage.GarbageManifest, "has an unreadable manifest.json")]
    public void A_damaged_checkpoint_is_named_and_the_previous_one_is_used(Damage damage, string expected)
    {
        var store = new CheckpointStore(RepoPaths.NewTempDir());
        var model = Mlp(seed: 4);
        var older = store.Save(model, Config, Optimizer(model), State(1, [3.0]), Run);
        var newer = store.Save(model, Config, Optimizer(model), State(2, [3.0, 2.0]), Run);
        var weights = Path.Combine(newer, CheckpointStore.ModelFile);
        switch (damage)
        {
            case Damage.TruncatedWeights:
                File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..^10]);
                expected += $" {new FileInfo(weights).Length}-byte model.safetensors";
                break;
            case Damage.FlippedByte:
                var bytes = File.ReadAllBytes(weights);
                bytes[^5] ^= 0x40;
                File.WriteAllBytes(weights, bytes);
                break;
            case Damage.MissingFile:
                File.Delete(Path.Combine(newer, CheckpointStore.TrainerStateFile));
                break;
            case Damage.GarbageManifest:
                File.WriteAllText(Path.Combine(newer, "manifest.json"), "{\"files\": [oops");
                break;
        }

        var e = Assert.Throws<UserError>(() => CheckpointStore.Load(newer, Mlp(seed: 5)));
        Assert.Contains(expected, e.Message);
        Assert.Contains(newer, e.Message);

        var warnings = new List<string>();
        var fresh = Mlp(seed: 6);
        var loaded = store.LoadLatest(fresh, Optimizer(fresh), warnings.Add)!;
        Assert.Equal(older, loaded.Directory);
        Assert.Contains(expected, Assert.Single(warnings));
        Assert.Contains("Falling back to step-000001", warnings[0]);
        Assert.True(fresh.model.layers[0].parameters().First().allclose(model.model.layers[0].parameters().First(), rtol: 0, atol: 0));
    }

    sealed record ExplodingConfig(int Hidden)
    {
        public string Attention => throw new IOException("disk full (simulated)");
    }

    [Fact]
    public void A_save_that_fails_midway_leaves_the_previous_checkpoint_loadable()
    {
        var store = new CheckpointStore(RepoPaths.NewTempDir());
        var model = Mlp(seed: 7);
        var good = store.Save(model, Config, Optimizer(model), State(1, [1.0]), Run);

        // model.safetensors is already written when serialising the config throws
        Assert.Throws<IOException>(() => store.Save(model, new ExplodingConfig(16), Optimizer(model), State(2, [1.0, 0.5]), Run));

        Assert.Equal([good], store.List());
        Assert.Empty(Directory.EnumerateDirectories(store.CheckpointsDirectory, ".*"));
        Assert.Equal("step-000001", File.ReadAllText(Path.Combine(store.CheckpointsDirectory, "latest")).Trim());
        Assert.Equal(1, store.LoadLatest(Mlp(seed: 8), null)!.Step);
    }

    [Fact]
    public void Loading_into_a_model_of_another_shape_names_the_mismatch()
    {
        var store = new CheckpointStore(RepoPaths.NewTempDir());
        var dir = store.Save(Mlp(seed: 9), Config, null, State(1, [1.0]), Run);
        var e = Assert.Throws<UserError>(() => CheckpointStore.Load(dir, Mlp(seed: 9, hidden: 32)));
        Assert.Contains("model.layers.0.up_proj.weight is [16, 8] but the model's is [32, 8]", e.Message);
        Assert.Contains("config.json", e.Message);

        var noOptimizer = Assert.Throws<UserError>(() => CheckpointStore.Load(dir, Mlp(seed: 9), Optimizer(Mlp(seed: 9))));
        Assert.Contains("without optimizer state", noOptimizer.Message);
    }

    [Fact]
    public void Optimizer_state_for_other_parameter_groups_is_refused()
    {
        var model = Mlp(seed: 11);
        var dir = new CheckpointStore(RepoPaths.NewTempDir()).Save(model, Config, Optimizer(model), State(1, [1.0]), Run);
        var oneGroup = optim.AdamW(model.parameters());
        var e = Assert.Throws<UserError>(() => CheckpointStore.Load(dir, model, oneGroup));
        Assert.Contains("does not fit this optimizer", e.Message);
    }

    [Fact]
    public void An_empty_run_has_no_latest_checkpoint()
    {
        var store = new CheckpointStore(RepoPaths.NewTempDir());
        Assert.Null(store.FindLatestValid());
        Assert.Contains("holds no Gpt4Sharp checkpoint", Assert.Throws<UserError>(() => CheckpointStore.Inspect(store.RunDirectory)).Message);
    }

    [Fact]
    public void Repeated_save_and_load_does_not_grow_live_tensors()
    {
        var store = new CheckpointStore(RepoPaths.NewTempDir(), keepLast: 1);
        var model = Mlp(seed: 10);
        var optimizer = Optimizer(model);
        long? baseline = null;
        for (var i = 1; i <= 6; i++)
        {
            store.Save(model, Config, optimizer, State(i, [1.0]), Run);
            store.LoadLatest(model, optimizer);
            baseline ??= DisposeScopeManager.Statistics.ThreadTotalLiveCount; // after the first round trip
        }
        Assert.Equal(baseline, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
