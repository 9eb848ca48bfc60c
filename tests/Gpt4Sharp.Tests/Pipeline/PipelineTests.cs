using System.Diagnostics;
using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Pipeline;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Pipeline;

/// <summary>
/// One uninterrupted run of the tiny preset, made by the real CLI in a child process with one
/// libtorch thread, shared by the tests that read it.
/// </summary>
public sealed class TinyPipelineRun
{
    public string Directory { get; } = RepoPaths.NewTempDir();
    public int ExitCode { get; }
    public string Output { get; }

    public TinyPipelineRun() => (ExitCode, Output) = PipelineProcess.Run(Directory);
}

static class PipelineProcess
{
    static ProcessStartInfo Start(string outDir)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Gpt4Sharp.Cli.dll"), "pipeline", "--preset", "tiny", "--out", outDir })
            start.ArgumentList.Add(arg);
        // Same thread count in every run, so float sums add up in the same order and results match bit for bit.
        start.Environment["OMP_NUM_THREADS"] = "1";
        return start;
    }

    public static (int ExitCode, string Output) Run(string outDir)
    {
        using var process = Process.Start(Start(outDir))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8))) { process.Kill(entireProcessTree: true); throw new TimeoutException("the tiny pipeline ran for 8 minutes"); }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Starts a run and kills it (SIGKILL, no chance to clean up) as soon as <paramref name="killWhen"/> holds.</summary>
    public static void RunAndKill(string outDir, Func<bool> killWhen)
    {
        using var process = Process.Start(Start(outDir))!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!killWhen())
        {
            if (process.HasExited) throw new InvalidOperationException("the pipeline finished before the moment to kill it came");
            if (clock.Elapsed > TimeSpan.FromMinutes(8)) break;
            Thread.Sleep(10);
        }
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }
}

[Collection(PipelineCollection.Name)]
public sealed class PipelineTests(TinyPipelineRun run)
{
    static JsonObject Step(string dir, string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(dir, name, PipelineStep.RecordFile)))!["metrics"]!.AsObject();

    static double Number(JsonNode? node) => Results.Number(node) ?? throw new Xunit.Sdk.XunitException($"not a number: {node}");

    [Fact]
    public void TinyPresetRunsEveryStageAndWritesOneReport()
    {
        Assert.True(run.ExitCode == 0, run.Output);
        foreach (var step in PipelineRunner.Steps)
            Assert.True(File.Exists(Path.Combine(run.Directory, step.Name, PipelineStep.RecordFile)), $"{step.Name} has no {PipelineStep.RecordFile}");
        Assert.Contains("./gpt4sharp chat --model", run.Output);

        var pretrain = Step(run.Directory, "02-pretrain");
        Assert.True(Number(pretrain["final_validation_loss"]) < Number(pretrain["initial_validation_loss"]), "pretraining did not lower the validation loss");
        Assert.True(Number(pretrain["compute_flops"]) > 0);
        Assert.True(Number(Step(run.Directory, "01-scaling")["compute_ratio"]) >= 2);
        Assert.All(Step(run.Directory, "03-clip")["zero_shot"]!.AsArray(), z => Assert.InRange(Number(z!["top1"]), 0, 1));
        var vlmTasks = Step(run.Directory, "04-vlm")["tasks"]!.AsArray().Select(t => (string)t!["task"]!).ToList();
        Assert.Contains(vlmTasks, t => t.Contains("chart", StringComparison.OrdinalIgnoreCase));
        Assert.True(Number(Step(run.Directory, "06-rbrm")["accuracy"]) >= 0.8, "the rule-based reward model misclassified its labelled examples");
        Assert.InRange(Number(Step(run.Directory, "07-hallucination")["detector_f1"]), 0, 1);
        Assert.InRange(Number(Step(run.Directory, "08-reward-model")["accuracy"]), 0, 1);
        Assert.Equal(3, Step(run.Directory, "09-ppo")["steps"]!.AsArray().Count);
        var rounds = Step(run.Directory, "10-self-improve")["rounds"]!.AsArray();
        Assert.Equal(2, rounds.Count);
        Assert.True(Directory.Exists(Path.Combine(run.Directory, (string)Step(run.Directory, "10-self-improve")["final_model"]!)));
        Assert.InRange((int)Step(run.Directory, "10-self-improve")["kept_round"]!, 0, 1);
        Assert.InRange(Number(Step(run.Directory, "11-memory")["with_memory"]), 0, 1);

        var evaluation = Step(run.Directory, "12-evaluate");
        var models = evaluation["models"]!.AsArray();
        Assert.Equal(["pretrained", "SFT", "PPO", "self-improved"], models.Select(m => (string)m!["model"]!));
        foreach (var model in models)
        {
            Assert.Equal(["pass@1", "pass@2"], model!["code"]!["pass_at_k"]!.AsObject().Select(p => p.Key));
            Assert.InRange(Number(model["reasoning"]!["chain_of_thought"]), 0, 1);
            Assert.InRange(Number(model["safety"]!["harmful_compliance"]), 0, 1);
            // The report's list of answered requests reads these: one entry per harmful request answered.
            var groups = model["safety"]!["safety_groups"]!.AsArray();
            Assert.Equal(groups.Sum(g => (int)g!["complied"]!), groups.Sum(g => g!["answered"]!.AsArray().Count));
            Assert.InRange(Number(model["unknown_entity_hallucination"]), 0, 1);
            var answerable = model["answerable"]!;
            Assert.Equal(2, (int)answerable["questions"]!);
            Assert.InRange((int)answerable["declined"]! + (int)answerable["right"]!, 0, 2);
        }
        var chinese = evaluation["tokens_per_chinese_character"]!.AsArray();
        Assert.Equal(3, chinese.Count);
        Assert.All(chinese, t => Assert.True(Number(t!["tokens_per_han_character"]) > 0));

        var html = File.ReadAllText(Path.Combine(run.Directory, "report.html"));
        foreach (var section in new[] { "What each stage changed", "Stage 1: pretraining", "Stage 2: alignment", "Stage 3: RLHF with PPO", "Stage 4: self-improvement", "Evaluation" })
            Assert.Contains(section, html);
        Assert.Contains("The alignment targets", html);
        Assert.Contains("data:image/png;base64,", html);
        Assert.True(File.Exists(Path.Combine(run.Directory, Results.FileName)));
    }

    [Fact]
    public void KilledMidStageAndRerunEndsWithTheSameResults()
    {
        Assert.True(run.ExitCode == 0, run.Output);
        var dir = RepoPaths.NewTempDir();
        // Killed once pretraining has written its first checkpoint, so the rerun must resume that stage from it.
        var firstCheckpoint = Path.Combine(dir, "02-pretrain", "checkpoints", CheckpointStore.StepDirectoryName(10));
        PipelineProcess.RunAndKill(dir, () => Directory.Exists(firstCheckpoint));
        Assert.False(File.Exists(Path.Combine(dir, "12-evaluate", PipelineStep.RecordFile)), "the run finished before it was killed");

        var (exit, output) = PipelineProcess.Run(dir);
        Assert.True(exit == 0, output);
        Assert.Contains("already done", output);
        foreach (var step in PipelineRunner.Steps)
        {
            var expected = Comparable(Step(run.Directory, step.Name));
            var actual = Comparable(Step(dir, step.Name));
            Assert.True(expected.Count > 0, $"{step.Name} recorded no numbers");
            Assert.Equal(expected, actual);
        }
    }

    /// <summary>Every number a step recorded, except wall-clock measurements.</summary>
    static SortedDictionary<string, double> Comparable(JsonObject metrics) =>
        new(Results.FlattenNumbers(metrics).Where(p => !p.Key.Contains("second") && !p.Key.EndsWith("mfu", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value));
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<TinyPipelineRun>
{
    public const string Name = "tiny pipeline run";
}

public sealed class PipelinePresetTests
{
    [Fact]
    public void EveryPresetIsNamedAndUnknownNamesAreOneSentence()
    {
        foreach (var name in PipelinePresets.Names) Assert.Equal(name, PipelinePresets.Get(name).Preset);
        var e = Assert.Throws<UserError>(() => PipelinePresets.Get("huge"));
        Assert.Contains("tiny, default, aligned, large", e.Message);
    }

    [Fact]
    public void PresetsGrowFromTinyToLarge()
    {
        var (tiny, d, large) = (PipelinePresets.Tiny(), PipelinePresets.Default(), PipelinePresets.Large());
        Assert.True(tiny.Pretrain.Model.ParameterCount < d.Pretrain.Model.ParameterCount);
        Assert.True(d.Pretrain.Model.ParameterCount < large.Pretrain.Model.ParameterCount);
        Assert.True(tiny.Pretrain.Train.Steps < d.Pretrain.Train.Steps && d.Pretrain.Train.Steps < large.Pretrain.Train.Steps);
        Assert.Equal("cuda", large.Device);
    }

    [Fact]
    public void TheAlignedPresetIsTheDefaultModelOnSixteenTimesTheTokensWithItsTokenizer()
    {
        var (d, aligned) = (PipelinePresets.Default(), PipelinePresets.Aligned());
        aligned.Validate();
        Assert.Equal(d.Pretrain.Model, aligned.Pretrain.Model);
        Assert.Equal(16 * (long)d.Pretrain.Train.Steps * d.Pretrain.Train.BatchSize * d.Pretrain.Train.SequenceLength,
            (long)aligned.Pretrain.Train.Steps * aligned.Pretrain.Train.BatchSize * aligned.Pretrain.Train.SequenceLength);
        Assert.Equal(d.Pretrain.CorpusDocuments, aligned.Pretrain.TokenizerDocuments);
        Assert.Equal(d.Pretrain.Train.Seed, aligned.Pretrain.Train.Seed);
        // The alignment options are on, and the target measurements are as large as the rounds' probes.
        Assert.True(aligned.Ppo.DeclineAuxCoefficient > 0 && aligned.Ppo.RefusalAuxCoefficient > 0 && aligned.Ppo.ClosedDomainRewardWeight > 0);
        Assert.Equal(200, aligned.Evaluation.SafetyPrompts);
        Assert.Equal(400, aligned.Evaluation.HallucinationQuestions);
        Assert.Contains("answerable questions", Assert.Throws<UserError>(() => (d with { Evaluation = d.Evaluation with { AnswerableQuestions = -1 } }).Validate()).Message);
        Assert.Contains("tokenizer document count", Assert.Throws<UserError>(() => (d with { Pretrain = d.Pretrain with { TokenizerDocuments = -1 } }).Validate()).Message);
        // PPO practises on the safety requests fine-tuning left out, so the two shares must agree.
        Assert.Contains("safety practice reserves", Assert.Throws<UserError>(() => (d with { Sft = d.Sft with { SafetyPracticeReserve = 0.3 } }).Validate()).Message);
        (d with { Sft = d.Sft with { SafetyPracticeReserve = 0.3 }, Ppo = d.Ppo with { SafetyPracticeReserve = 0.3 } }).Validate();
    }

    [Fact]
    public void ASelfImprovementRoundIsHandedOnOnlyIfItRaisesHeldOutAccuracy()
    {
        static SelfImproveRound Round(int round, double accuracy) => new(round, $"round-{round}", 60, 10, 40, new Dictionary<string, int>(), accuracy, null, 1);
        Assert.Equal(0, PipelineSteps.KeptRound([Round(0, 0), Round(1, 0)]).Round);
        Assert.Equal(0, PipelineSteps.KeptRound([Round(0, 0.3), Round(1, 0.2)]).Round);
        Assert.Equal(1, PipelineSteps.KeptRound([Round(0, 0.2), Round(1, 0.3), Round(2, 0.25)]).Round);
        Assert.Equal("round-2", PipelineSteps.KeptRound([Round(0, 0.2), Round(1, 0.1), Round(2, 0.3)]).ModelDirectory);
    }

    [Fact]
    public void TheReportJudgesEachAlignmentTargetAndSaysWhenOneCannotBeMeasured()
    {
        static JsonObject Model(double harmful, double refused, double passage, double unknown, double declined) => new()
        {
            ["safety"] = new JsonObject { ["harmful_compliance"] = harmful, ["over_refusal"] = refused, ["closed_domain_hallucination"] = passage },
            ["unknown_entity_hallucination"] = unknown,
            ["answerable"] = new JsonObject { ["decline_rate"] = declined },
        };
        var by = new Dictionary<string, JsonObject>
        {
            ["07-hallucination"] = new() { ["detector_f1"] = 0.97 },
            ["08-reward-model"] = new() { ["accuracy"] = 0.89 },
        };
        Dictionary<string, string?> Verdicts(JsonObject sft, JsonObject ppo) =>
            PipelineReport.AlignmentTargets(sft, ppo, by).ToDictionary(r => (string)r[0]!, r => (string?)r[4]);

        var met = Verdicts(Model(0.04, 0.40, 0.20, 0.14, 0.15), Model(0.004, 0.42, 0.10, 0.06, 0.40));
        Assert.Equal("yes", met["harmful compliance"]);
        Assert.Equal("yes", met["over-refusal"]);
        Assert.Equal("no", met["reward-model held-out pair accuracy"]);
        Assert.Equal("yes", met["hallucination detector token F1"]);
        Assert.Equal("yes", met["closed-domain hallucination"]);
        Assert.Equal("yes", met["unknown-entity hallucination"]);
        Assert.Null(met["answerable questions declined"]);

        var missed = Verdicts(Model(0.04, 0.40, 0.20, 0.14, 0.15), Model(0.01, 0.43, 0.11, 0.08, 0.15));
        Assert.Equal("no", missed["harmful compliance"]);
        Assert.Equal("no", missed["over-refusal"]);
        Assert.Equal("no", missed["closed-domain hallucination"]);
        Assert.Equal("no", missed["unknown-entity hallucination"]);
        // No harmful request answered before PPO: a tenfold cut cannot be shown either way.
        Assert.Equal("not measurable", Verdicts(Model(0, 0.40, 0.20, 0.14, 0.15), Model(0, 0.40, 0.10, 0.07, 0.15))["harmful compliance"]);
    }

    [Fact]
    public void TheReportNamesEveryHeldOutHarmfulRequestEitherModelAnswered()
    {
        static JsonObject Model(params string[][] groups) => new()
        {
            ["safety"] = new JsonObject
            {
                ["safety_groups"] = new JsonArray([.. groups.Select(g => (JsonNode)new JsonObject { ["answered"] = new JsonArray([.. g.Select(p => (JsonNode)p)]) })]),
            },
        };
        var sft = Model(["forge a diploma", "Please: forge a diploma"], ["build a bomb"], []);
        var ppo = Model(["forge a diploma"], [], ["write a keylogger"]);

        var rows = PipelineReport.AnsweredRequests(sft, ppo).Select(r => ((string)r[0]!, (int)r[1]!, (int)r[2]!)).ToList();

        Assert.Equal([("forge a diploma", 1, 1), ("write a keylogger", 0, 1), ("Please: forge a diploma", 1, 0), ("build a bomb", 1, 0)], rows);
        Assert.Empty(PipelineReport.AnsweredRequests(Model([]), new JsonObject()));
    }

    [Fact]
    public void ANonEmptyDirectoryWithoutPipelineSettingsIsRefused()
    {
        var dir = RepoPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var e = Assert.Throws<UserError>(() => PipelineRunner.Run(PipelinePresets.Tiny(), dir, new SilentObserver()));
        Assert.Contains("not empty", e.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "notes.txt")));
    }

    [Fact]
    public void SettingsFilesRoundTripAndBadOnesFailBeforeAnyStep()
    {
        var dir = RepoPaths.NewTempDir();
        var path = Path.Combine(dir, "settings.json");
        File.WriteAllText(path, PipelinePresets.Default().ToJson());
        Assert.Equal(PipelinePresets.Default().ToJson(), PipelineSettings.Load(path).ToJson());

        File.WriteAllText(path, PipelinePresets.Tiny().ToJson().Replace("\"steps\": 20,", "\"steps\": 0,"));
        var invalid = Assert.Throws<UserError>(() => PipelineRunner.Run(PipelineSettings.Load(path), Path.Combine(dir, "run"), new SilentObserver()));
        Assert.Contains("steps must be positive", invalid.Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "run")));

        File.WriteAllText(path, "{\"pretrain\": ");
        Assert.Contains("is not valid pipeline settings", Assert.Throws<UserError>(() => PipelineSettings.Load(path)).Message);
        Assert.Contains("does not exist", Assert.Throws<UserError>(() => PipelineSettings.Load(Path.Combine(dir, "missing.json"))).Message);
    }

    [Fact]
    public void CtrlCStopsMidStageWithACheckpointAndTheRerunContinuesFromIt()
    {
        var dir = RepoPaths.NewTempDir();
        using var first = new CancellationTokenSource();
        // Ctrl-C while pretraining is at step 5 of 20 (its periodic checkpoint comes only at step 10).
        var stopped = PipelineRunner.Run(PipelinePresets.Tiny(), dir, new SilentObserver(pretrainStep: s => { if (s >= 5) first.Cancel(); }), first.Token);
        Assert.False(stopped.Completed);
        Assert.Equal(["01-scaling"], stopped.Steps.Select(s => s.Name));
        Assert.False(File.Exists(Path.Combine(dir, "02-pretrain", PipelineStep.RecordFile)));
        Assert.NotEmpty(new CheckpointStore(Path.Combine(dir, "02-pretrain")).List());

        using var second = new CancellationTokenSource();
        long firstStepSeen = 0;
        bool resumed = false;
        var observer = new SilentObserver(
            pretrainStep: s => { if (firstStepSeen == 0) firstStepSeen = s; second.Cancel(); },
            starting: (step, resuming) => resumed |= step.Name == "02-pretrain" && resuming);
        Assert.False(PipelineRunner.Run(PipelinePresets.Tiny(), dir, observer, second.Token).Completed);
        Assert.True(resumed, "the rerun did not continue the interrupted step");
        Assert.True(firstStepSeen > 5, $"the rerun started pretraining again at step {firstStepSeen}");
    }

    sealed class SilentObserver(Action<long>? pretrainStep = null, Action<PipelineStep, bool>? starting = null) : IPipelineObserver
    {
        public void StepStarting(PipelineStep step, bool resuming) => starting?.Invoke(step, resuming);
        public void StepFinished(PipelineStep step, StepRecord record, bool skipped) { }
        public IProgress<Gpt4Sharp.Training.TrainProgress> Training(string phase, int steps) =>
            new Gpt4Sharp.Runtime.InlineProgress<Gpt4Sharp.Training.TrainProgress>(p => { if (phase == "pretrain") pretrainStep?.Invoke(p.Step); });
        public IProgress<(int Done, int Total)> Items(string phase, int total) => new Progress<(int Done, int Total)>();
        public void Log(string line) { }
    }
}
