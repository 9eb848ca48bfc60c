using System.Diagnostics;
using Gpt4Sharp.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Training;

/// <summary>
/// The pretraining loop: AdamW with decay on matrices only, warmup + cosine learning rate,
/// gradient accumulation and clipping, periodic validation loss, and checkpoints through a
/// callback. With bf16 the forward and backward run on a bf16 copy of the model while the
/// optimiser keeps fp32 master weights (TorchSharp has no autocast, so the cast is explicit).
/// Every step runs inside a dispose scope, so native memory stays flat over any length.
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly GptModel master;
    GptModel? computeModel;
    readonly TrainConfig config;
    readonly ITrainingData data;
    readonly double? matmulPeakFlops;
    readonly Parameter[] masterParams;
    Parameter[] computeParams = [];

    public Trainer(GptModel model, TrainConfig config, ITrainingData data, double? matmulPeakFlops = null, TrainerState? state = null)
    {
        master = model;
        this.config = config.Validate(model.Config.ContextLength);
        this.data = data;
        this.matmulPeakFlops = matmulPeakFlops;
        State = state ?? new TrainerState { Seed = config.Seed };
        masterParams = master.parameters().ToArray();
        Optimizer = CreateOptimizer(model, config);
    }

    public GptModel Model => master;

    /// <summary>
    /// The model that runs forward and backward: the master itself, or its bf16 copy. The copy is
    /// made at first use, so it follows any checkpoint loaded after construction, and outside any
    /// step's dispose scope, which would otherwise free its converted weights.
    /// </summary>
    GptModel ComputeModel()
    {
        if (computeModel is null)
        {
            computeModel = config.Bf16 ? Bf16Copy(master) : master;
            computeParams = computeModel.parameters().ToArray();
        }
        return computeModel;
    }
    public TrainConfig Config => config;
    public TrainerState State { get; }
    public AdamW Optimizer { get; }

    /// <summary>
    /// Trains until <see cref="TrainConfig.Steps"/>, reporting progress each step and calling
    /// <paramref name="checkpoint"/> every <see cref="TrainConfig.CheckpointEvery"/> steps and
    /// at the end. Cancellation stops after the current step with a final checkpoint; returns
    /// false in that case.
    /// </summary>
    public bool Run(IProgress<TrainProgress>? progress = null, Action<Trainer>? checkpoint = null, CancellationToken cancel = default)
    {
        double flopsPerToken = master.Config.TrainingFlopsPerToken(config.SequenceLength);
        var clock = Stopwatch.StartNew();
        double startSeconds = State.TrainSeconds;
        long startStep = State.Step;
        while (State.Step < config.Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                checkpoint?.Invoke(this);
                return false;
            }
            var stepClock = Stopwatch.StartNew();
            var (loss, gradNorm) = TrainStep();
            State.TrainSeconds = startSeconds + clock.Elapsed.TotalSeconds;
            State.LossHistory.Add(new LossPoint(State.Step, loss));

            double? validation = null;
            bool last = State.Step == config.Steps;
            if (config.EvalEvery > 0 && (State.Step % config.EvalEvery == 0 || last))
            {
                validation = ValidationLoss();
                State.ValLossHistory.Add(new LossPoint(State.Step, validation.Value));
                if (State.BestValLoss is null || validation < State.BestValLoss) State.BestValLoss = validation;
            }
            if (last || (config.CheckpointEvery > 0 && State.Step % config.CheckpointEvery == 0)) checkpoint?.Invoke(this);

            double tokensPerSecond = config.TokensPerStep / stepClock.Elapsed.TotalSeconds;
            double averageStep = clock.Elapsed.TotalSeconds / (State.Step - startStep);
            progress?.Report(new TrainProgress(
                State.Step, config.Steps, loss, config.LearningRateAt((int)State.Step - 1), tokensPerSecond,
                matmulPeakFlops is > 0 ? tokensPerSecond * flopsPerToken / matmulPeakFlops : null,
                TimeSpan.FromSeconds(averageStep * (config.Steps - State.Step)), validation, gradNorm));
        }
        return true;
    }

    /// <summary>One optimiser step over <see cref="TrainConfig.GradientAccumulation"/> micro-batches: (mean loss, gradient norm before clipping).</summary>
    public (double Loss, double GradientNorm) TrainStep()
    {
        var compute = ComputeModel();
        using var scope = torch.NewDisposeScope();
        compute.train();
        double lr = config.LearningRateAt((int)State.Step);
        foreach (var group in Optimizer.ParamGroups) group.LearningRate = lr;
        Optimizer.zero_grad();
        if (compute != master) compute.zero_grad();

        double loss = 0;
        for (int micro = 0; micro < config.GradientAccumulation; micro++)
        {
            using var microScope = torch.NewDisposeScope();
            var (input, target) = data.TrainBatch(State.Step, micro, config.BatchSize, config.SequenceLength, master.Device);
            var microLoss = GptModel.Loss(compute.Forward(input), target) / config.GradientAccumulation;
            microLoss.backward();
            loss += microLoss.item<float>();
        }
        if (compute != master) CopyGradientsToMaster();

        double norm = config.GradientClip > 0
            ? torch.nn.utils.clip_grad_norm_(masterParams, config.GradientClip)
            : GradientNorm();
        Optimizer.step();
        if (compute != master) CopyMasterToCompute();

        State.Step++;
        State.TokensSeen += config.TokensPerStep;
        return (loss, norm);
    }

    /// <summary>Mean loss over the validation batches, without gradients.</summary>
    public double ValidationLoss()
    {
        var compute = ComputeModel();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        compute.eval();
        double sum = 0;
        int n = 0;
        foreach (var (input, target) in data.ValidationBatches(config.BatchSize, config.SequenceLength, config.EvalBatches, master.Device))
        {
            sum += GptModel.Loss(compute.Forward(input), target).item<float>();
            n++;
            input.Dispose();
            target.Dispose();
        }
        compute.train();
        return n == 0 ? double.NaN : sum / n;
    }

    double GradientNorm()
    {
        using var scope = torch.NewDisposeScope();
        var squares = masterParams.Where(p => p.grad is not null).Select(p => p.grad!.to(ScalarType.Float32).pow(2).sum()).ToArray();
        return squares.Length == 0 ? 0 : torch.stack(squares).sum().sqrt().item<float>();
    }

    /// <summary>Decay on 2-D weight matrices; none on norm gains or the token embedding (also the tied output layer).</summary>
    static AdamW CreateOptimizer(GptModel model, TrainConfig config)
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in model.named_parameters())
            (p.dim() >= 2 && !name.Contains("embed_tokens", StringComparison.Ordinal) ? decay : noDecay).Add(p);
        return torch.optim.AdamW(
            [
                new AdamW.ParamGroup(decay, new AdamW.Options { LearningRate = config.LearningRate, weight_decay = config.WeightDecay, beta1 = config.Beta1, beta2 = config.Beta2 }),
                new AdamW.ParamGroup(noDecay, new AdamW.Options { LearningRate = config.LearningRate, weight_decay = 0, beta1 = config.Beta1, beta2 = config.Beta2 }),
            ],
            config.LearningRate, config.Beta1, config.Beta2);
    }

    static GptModel Bf16Copy(GptModel model)
    {
        var copy = new GptModel(model.Config);
        copy.to(model.Device);
        using (torch.no_grad())
            foreach (var (target, source) in copy.parameters().Zip(model.parameters())) target.copy_(source);
        copy.to(ScalarType.BFloat16);
        return copy;
    }

    void CopyGradientsToMaster()
    {
        using var noGrad = torch.no_grad();
        for (int i = 0; i < masterParams.Length; i++)
        {
            using var g = computeParams[i].grad;
            if (g is null) continue;
            masterParams[i].grad = g.to(ScalarType.Float32);
        }
    }

    void CopyMasterToCompute()
    {
        using var noGrad = torch.no_grad();
        for (int i = 0; i < masterParams.Length; i++) computeParams[i].copy_(masterParams[i]);
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        if (computeModel is not null && computeModel != master) computeModel.Dispose();
    }
}
