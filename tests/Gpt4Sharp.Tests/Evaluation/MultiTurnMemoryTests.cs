using Gpt4Sharp.Evaluation.Memory;
using Gpt4Sharp.Runtime;

namespace Gpt4Sharp.Tests.Evaluation;

public class MultiTurnMemoryTests
{
    static readonly MultiTurnMemorySettings Tiny = new()
    {
        Steps = 6, EvalItems = 4, DModel = 16, Layers = 1, Heads = 2, Batch = 2, Memory = 16, TrainConversations = 200,
    };

    [Fact]
    public void ATinyRunScoresEveryHeldOutItemBothWays()
    {
        TorchRuntime.EnsureLoaded();
        int lastStep = 0;
        var r = MultiTurnMemory.Run(Tiny, new InlineProgress<(int Step, float Loss)>(p => lastStep = p.Step));

        Assert.Equal(Tiny.Steps, lastStep);
        Assert.Equal(Tiny.EvalItems, r.Items);
        Assert.InRange(r.CorrectWithMemory, 0, r.Items);
        Assert.InRange(r.CorrectWithoutMemory, 0, r.Items);
        Assert.InRange(r.Chance, double.Epsilon, 1);
        Assert.True(double.IsFinite(r.FinalLoss));
    }

    [Fact]
    public void CancellationStopsTrainingBetweenSteps()
    {
        // The pipeline's Ctrl-C reaches this step only through the token: without it the step trained to the end.
        TorchRuntime.EnsureLoaded();
        using var stop = new CancellationTokenSource();
        int lastStep = 0;
        var progress = new InlineProgress<(int Step, float Loss)>(p =>
        {
            lastStep = p.Step;
            if (p.Step == 2) stop.Cancel();
        });

        Assert.ThrowsAny<OperationCanceledException>(() => MultiTurnMemory.Run(Tiny with { Steps = 50 }, progress, cancel: stop.Token));
        Assert.Equal(2, lastStep);
    }
}
