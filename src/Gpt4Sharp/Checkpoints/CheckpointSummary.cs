using Gpt4Sharp.Training;
using System.Text.Json.Nodes;
using Gpt4Sharp.Runs;

namespace Gpt4Sharp.Checkpoints;

/// <summary>A verified checkpoint's contents, for <c>gpt4sharp info</c>.</summary>
public sealed record CheckpointSummary(
    string Directory,
    long Step,
    IReadOnlyList<TensorEntry> Tensors,
    long ParameterCount,
    IReadOnlyList<ManifestFile> Files,
    JsonNode Config,
    TrainerState State,
    RunInfo? Run)
{
    public long TotalBytes => Files.Sum(f => f.Bytes);
}
