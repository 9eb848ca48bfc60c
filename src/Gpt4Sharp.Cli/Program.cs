using System.CommandLine;
using Gpt4Sharp.Cli;

// Every verb lives in Commands/, one file per subsystem; this list is the whole CLI.
var root = new RootCommand("Gpt4Sharp: the GPT-4 recipe in .NET — pretrain, align, evaluate and serve a multimodal decoder-only Transformer.");
root.Options.Add(ConfigFile.Option);
Command[] commands =
[
    TokenizerCommands.Create(),
    TokenizerCommands.CreateTokens(),
    DataCommands.Create(),
    .. PretrainCommands.Create(),
    FineTuneCommands.Create(),
    CurriculumCommands.Create(),
    EvalCommands.Create(),
    ReportCommands.Create(),
    InfoCommands.Create(),
    .. InteropCommands.Create(),
    ClipCommands.Create(),
    VlmCommands.Create(),
    ChatCommands.Create(),
    .. SafetyCommands.Create(),
    .. ReasoningCommands.Create(),
    ScalingCommands.Create(),
    .. RlhfCommands.Create(),
    ServeCommands.Create(),
    PipelineCommands.Create(),
];
foreach (var command in commands) root.Subcommands.Add(command);

return await root.Parse(ConfigFile.Expand(args)).InvokeAsync();
