namespace Gpt4Sharp.Tests.Support;

/// <summary>
/// Tests that run CLI verbs: Spectre.Console's live displays (progress, status) are global and
/// refuse to run two at once, so these tests run one at a time, apart from the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
