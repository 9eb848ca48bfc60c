using Gpt4Sharp.Runs;
using static TorchSharp.torch;

namespace Gpt4Sharp.Stages;

/// <summary>What the shared start of a training stage (<see cref="TrainingRun.Start"/>) reads from the stage's settings record.</summary>
interface IStageSettings<TSelf> where TSelf : class, IStageSettings<TSelf>
{
    string OutDirectory { get; }
    string Device { get; }
    /// <summary>The seed torch is seeded with and run.json records.</summary>
    long Seed { get; }
    TSelf WithOutDirectory(string outDirectory);
}

/// <summary>A started stage: the settings in force (on resume the saved ones), its absolute run directory and device.</summary>
sealed record StageStart<T>(T Settings, string OutDirectory, Device Device) where T : class, IStageSettings<T>
{
    /// <summary>The run.json record of this run under <paramref name="command"/>.</summary>
    public RunInfo Describe(string command) => RunInfo.Capture(command, Settings.Seed, Settings);
}
