using System.CommandLine;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Stages;
using Gpt4Sharp.Text;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"pretrain", "sample" and "info": train a model, talk to it, look inside a checkpoint.</summary>
public static class PretrainCommands
{
    public static Command[] Create() => [Pretrain(), Sample(), Info()];

    static Command Pretrain()
    {
        var d = new PretrainSettings();
        var outDir = Cli.Opt("--out", "Run directory (settings, tokenizer, data, checkpoints, results).", d.OutDirectory);
        var data = Cli.Opt<string?>("--data", "Shard directory from `data prepare`; default: build from the built-in curriculum.");
        var tokenizer = Cli.Opt<string?>("--tokenizer", "Tokenizer name or directory; default: train a BPE on the built-in corpus.");
        var tokenizerVocab = Cli.Opt("--tokenizer-vocab", "Vocabulary of the BPE trained on the built-in corpus.", d.TokenizerVocabSize);
        var corpusDocs = Cli.Opt("--corpus-docs", "Documents drawn from the built-in curriculum.", d.CorpusDocuments);
        var tokenizerDocs = Cli.Opt("--tokenizer-docs", "Documents the BPE is trained on, drawn like the corpus (0 = the whole corpus).", d.TokenizerDocuments);
        var mixture = Cli.Opt<string?>("--mixture", "Mixture file (as for `curriculum mix`) whose family weights make the built-in corpus; its count and seed are --corpus-docs and --seed. Default: the pretraining preset.");
        var arch = Cli.Opt("--arch", "Layer family: llama (RMSNorm, RoPE, SwiGLU) or gpt2 (LayerNorm, learned positions, GELU, biases).", "llama");
        var dModel = Cli.Opt("--d-model", "Model width.", d.Model.DModel);
        var layers = Cli.Opt("--layers", "Decoder layers.", d.Model.Layers);
        var heads = Cli.Opt("--heads", "Attention heads.", d.Model.Heads);
        var kvHeads = Cli.Opt("--kv-heads", "Key/value heads (grouped-query attention); 0 = same as --heads.", 0);
        var context = Cli.Opt("--context", "Context length in tokens.", d.Model.ContextLength);
        var untied = Cli.Opt("--untied", "Separate input embedding and output layer.", false);
        var steps = Cli.Opt("--steps", "Optimiser steps.", d.Train.Steps);
        var batch = Cli.Opt("--batch-size", "Sequences per micro-batch.", d.Train.BatchSize);
        var seqLen = Cli.Opt("--seq-len", "Tokens per training sequence.", d.Train.SequenceLength);
        var accumulation = Cli.Opt("--grad-accum", "Micro-batches per step.", d.Train.GradientAccumulation);
        var lr = Cli.Opt("--lr", "Peak learning rate.", d.Train.LearningRate);
        var warmup = Cli.Opt("--warmup", "Warmup steps.", d.Train.WarmupSteps);
        var weightDecay = Cli.Opt("--weight-decay", "AdamW weight decay on matrices.", d.Train.WeightDecay);
        var clip = Cli.Opt("--grad-clip", "Gradient-norm clip (0 = off).", d.Train.GradientClip);
        var evalEvery = Cli.Opt("--eval-every", "Validation loss every N steps.", d.Train.EvalEvery);
        var checkpointEvery = Cli.Opt("--checkpoint-every", "Checkpoint every N steps.", d.Train.CheckpointEvery);
        var seed = Cli.Opt("--seed", "Seed for data, initialisation and sampling.", d.Train.Seed);
        var bf16 = Cli.Opt("--bf16", "bf16 weights/activations with fp32 master weights (fast on CPUs with AMX/AVX512-BF16).", false);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);
        var resume = Cli.Opt("--resume", "Continue the run in --out from its newest valid checkpoint.", false);

        var command = new Command("pretrain", "Stage 1: trains a decoder-only model (by default a ~2M-parameter one on the built-in curriculum, a few minutes on 2 cores) and prints samples.")
        {
            outDir, data, tokenizer, tokenizerVocab, corpusDocs, tokenizerDocs, mixture, arch, dModel, layers, heads, kvHeads, context, untied,
            steps, batch, seqLen, accumulation, lr, warmup, weightDecay, clip, evalEvery, checkpointEvery, seed, bf16, device, resume,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            int h = p.GetValue(heads);
            var settings = d with
            {
                OutDirectory = p.GetValue(outDir)!,
                DataDirectory = p.GetValue(data),
                Tokenizer = p.GetValue(tokenizer),
                TokenizerVocabSize = p.GetValue(tokenizerVocab),
                CorpusDocuments = p.GetValue(corpusDocs),
                TokenizerDocuments = p.GetValue(tokenizerDocs),
                CorpusMixture = p.GetValue(mixture) is { } mixturePath ? Mixture.Load(mixturePath) : null,
                Device = p.GetValue(device)!,
                Model = d.Model with
                {
                    Architecture = GptConfig.ParseArchitecture(p.GetValue(arch)!),
                    DModel = p.GetValue(dModel), Layers = p.GetValue(layers), Heads = h, KvHeads = p.GetValue(kvHeads) is > 0 and var kv ? kv : h,
                    ContextLength = p.GetValue(context), TiedEmbeddings = !p.GetValue(untied),
                },
                Train = d.Train with
                {
                    Steps = p.GetValue(steps), BatchSize = p.GetValue(batch), SequenceLength = p.GetValue(seqLen), GradientAccumulation = p.GetValue(accumulation),
                    LearningRate = p.GetValue(lr), WarmupSteps = p.GetValue(warmup), WeightDecay = p.GetValue(weightDecay), GradientClip = p.GetValue(clip),
                    EvalEvery = p.GetValue(evalEvery), CheckpointEvery = p.GetValue(checkpointEvery), Seed = p.GetValue(seed), Bf16 = p.GetValue(bf16),
                },
            };
            var result = TrainingDisplay.Run("pretrain", settings.Train.Steps, 0, progress =>
                Pretraining.Run(settings, p.GetValue(resume), progress, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]"), cancel));
            PrintSummary(result);
            return result.Completed ? 0 : 130;
        });
        return command;
    }

    static void PrintSummary(PretrainResult r)
    {
        var table = new Table().Title("pretraining summary").AddColumns("what", "value");
        table.AddRow("parameters", r.Parameters.ToString("N0"));
        table.AddRow("steps", r.Steps.ToString("N0"));
        table.AddRow("tokens seen", r.TokensSeen.ToString("N0"));
        table.AddRow("validation loss", $"{r.InitialValidationLoss:F4} -> {r.FinalValidationLoss?.ToString("F4") ?? "not measured yet"}");
        table.AddRow("training time", $"{r.TrainSeconds:F0} s");
        table.AddRow("throughput", $"{r.TokensPerSecond:F0} tokens/s");
        if (r.Mfu is { } mfu) table.AddRow("MFU", $"{mfu:P1} of {r.MatmulPeakGflops:F0} GFLOP/s matmul peak measured in this run");
        table.AddRow("checkpoint", Markup.Escape(r.CheckpointDirectory));
        AnsiConsole.Write(table);
        if (!r.Completed)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]Stopped early; continue with: gpt4sharp pretrain --out {r.OutDirectory} --resume[/]");
            return;
        }
        foreach (var (prompt, completion) in r.Samples)
            AnsiConsole.Write(new Panel(new Markup($"[bold]{Markup.Escape(prompt)}[/]{Markup.Escape(completion)}")).Header("sample"));
        AnsiConsole.MarkupLineInterpolated($"Sample more with: gpt4sharp sample --model {r.OutDirectory} --prompt \"...\"");
    }

    static Command Sample()
    {
        var model = Cli.Required<string>("--model", "Run directory or checkpoint directory.");
        var prompt = Cli.Opt("--prompt", "Text to continue.", "The");
        var maxTokens = Cli.Opt("--max-tokens", "New tokens at most.", 100);
        var temperature = Cli.Opt("--temperature", "0 = greedy.", 0.8);
        var topK = Cli.Opt("--top-k", "Keep the k most likely tokens (0 = off).", 40);
        var topP = Cli.Opt("--top-p", "Nucleus sampling threshold (1 = off).", 1.0);
        var repetition = Cli.Opt("--repetition-penalty", "Penalty for tokens already in the text (1 = off).", 1.0);
        var stop = new Option<string[]>("--stop") { Description = "Stop before this text (repeatable).", DefaultValueFactory = _ => [] };
        var count = Cli.Opt("--num-samples", "Samples to draw.", 1);
        var seed = Cli.Opt("--seed", "Sampling seed.", 1234L);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "auto");
        var command = new Command("sample", "Streams text from a trained model.") { model, prompt, maxTokens, temperature, topK, topP, repetition, stop, count, seed, device };
        command.SetHandler(async (p, cancel) =>
        {
            Cli.RequireTorch();
            using var bundle = ModelBundle.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!), w => AnsiConsole.MarkupLineInterpolated($"[yellow]{w}[/]"));
            var generator = new TextGenerator(bundle.Model, bundle.Tokenizer, bundle.DecodeWeights);
            var text = p.GetValue(prompt)!;
            var ids = bundle.Tokenizer.Encode(text, allowSpecial: true);
            for (int i = 0; i < p.GetValue(count); i++)
            {
                var options = new SamplingOptions
                {
                    MaxNewTokens = p.GetValue(maxTokens), Temperature = p.GetValue(temperature), TopK = p.GetValue(topK), TopP = p.GetValue(topP),
                    RepetitionPenalty = p.GetValue(repetition), Stop = p.GetValue(stop)!, Seed = p.GetValue(seed) + i,
                    StopTokens = bundle.Tokenizer.SpecialTokenId(SpecialTokens.EndOfText) is { } eot ? [eot] : [],
                };
                AnsiConsole.Markup($"[bold]{Markup.Escape(text)}[/]");
                int n = 0;
                await foreach (var token in generator.StreamAsync(ids, options, cancel))
                {
                    Console.Write(token.Text);
                    n++;
                }
                Console.WriteLine();
                AnsiConsole.MarkupLineInterpolated($"[grey]({n} tokens, finished: {generator.LastFinishReason})[/]");
            }
            return 0;
        });
        return command;
    }

    static Command Info()
    {
        var path = new Argument<string>("checkpoint") { Description = "Run directory, its checkpoints directory, or a step directory." };
        var command = new Command("info", "Shows what a checkpoint holds: config, step, losses, tensors and files.") { path };
        command.SetHandler((p, _) =>
        {
            var s = CheckpointStore.Inspect(p.GetValue(path)!);
            var table = new Table().Title(Markup.Escape(s.Directory)).AddColumns("what", "value");
            table.AddRow("step", s.Step.ToString("N0"));
            table.AddRow("parameters", s.ParameterCount.ToString("N0"));
            table.AddRow("tokens seen", s.State.TokensSeen.ToString("N0"));
            if (s.State.ValLossHistory.Count > 0) table.AddRow("validation loss", $"{s.State.ValLossHistory[^1].Loss:F4} (best {s.State.BestValLoss:F4})");
            foreach (var key in new[] { "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size", "max_position_embeddings", "tie_word_embeddings", ModelBundle.TokenizerKey })
                if (s.Config[key] is { } v) table.AddRow(key, Markup.Escape(v.ToJsonString()));
            table.AddRow("files", Markup.Escape(string.Join(", ", s.Files.Select(f => $"{f.Name} ({f.Bytes / 1024.0:F0} KiB)"))));
            if (s.Run is { } run)
            {
                table.AddRow("run", Markup.Escape($"seed {run.Seed}, commit {run.GitCommit?[..Math.Min(10, run.GitCommit.Length)] ?? "none"}, TorchSharp {run.TorchSharpVersion}"));
                // The bits a seed gives depend on the CPU's vector extensions, so a reproduction needs them too.
                if (run.Cpu is { } cpu) table.AddRow("trained on", Markup.Escape($"{cpu} ({string.Join(", ", run.CpuVectorExtensions ?? [])})"));
            }
            AnsiConsole.Write(table);
            var tensors = new Table().AddColumns("tensor", "dtype", "shape");
            foreach (var t in s.Tensors) tensors.AddRow(Markup.Escape(t.Name), Markup.Escape(t.DType), Markup.Escape($"[{string.Join(", ", t.Shape)}]"));
            AnsiConsole.Write(tensors);
            return 0;
        });
        return command;
    }
}
