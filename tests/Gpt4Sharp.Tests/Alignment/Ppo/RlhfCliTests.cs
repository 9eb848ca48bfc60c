using System.CommandLine;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Cli;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.Ppo;

[Collection(Gpt4Sharp.Tests.Support.ConsoleCollection.Name)]
public class RlhfCliTests
{
    [Fact]
    public async Task Rm_train_then_ppo_run_end_to_end_and_bad_input_exits_1()
    {
        var root = new RootCommand { ConfigFile.Option };
        foreach (var c in RlhfCommands.Create()) root.Subcommands.Add(c);
        var sft = TinyRun.Create();
        var dir = RepoPaths.NewTempDir();
        var rm = Path.Combine(dir, "rm");
        var ppo = Path.Combine(dir, "ppo");
        Assert.Equal(0, await root.Parse(["rm", "train", "--model", sft, "--out", rm, "--curriculum-pairs", "60", "--policy-pairs", "3", "--steps", "2", "--batch-size", "4", "--device", "cpu"]).InvokeAsync());
        Assert.Equal(0, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--out", ppo, "--steps", "1", "--prompts-per-step", "1", "--samples", "2",
            "--max-new-tokens", "8", "--minibatch", "2", "--probe", "2", "--probe-redteam", "1", "--device", "cpu", "--closed-domain-reward", "0.5"]).InvokeAsync());
        using (ModelBundle.Load(ppo)) { }
        Assert.Equal(0.5, PpoTrainer.SavedSettings(ppo).ClosedDomainRewardWeight);
        Assert.Equal(0, await root.Parse(["rm", "score", "--model", rm, "--prompt", "Who is Kalo?", "--response", "I don't know.", "Kalo is a town."]).InvokeAsync());
        Assert.Equal(1, await root.Parse(["rm", "score", "--model", sft, "--prompt", "Who is Kalo?", "--response", "I don't know."]).InvokeAsync()); // a language model is not a reward model
        // Resuming a finished run rebuilds its rewards from the saved settings and only measures again.
        Assert.Equal(0, await root.Parse(["ppo", "--model", sft, "--out", ppo, "--resume"]).InvokeAsync());
        Assert.Equal(0, await root.Parse(["rm", "train", "--model", sft, "--out", rm, "--resume"]).InvokeAsync());
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--out", Path.Combine(dir, "nothing"), "--resume"]).InvokeAsync()); // nothing to resume
        Assert.Equal(1, await root.Parse(["rm", "train", "--model", sft, "--out", Path.Combine(dir, "rm2"), "--fact-pairs", "open-book"]).InvokeAsync()); // unknown fact-pair kind
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rbrm", "false", "--out", Path.Combine(dir, "ppo2")]).InvokeAsync()); // no reward at all
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rubric", Path.Combine(dir, "missing.json"), "--out", Path.Combine(dir, "ppo4")]).InvokeAsync()); // unreadable rubric
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", sft, "--out", Path.Combine(dir, "ppo3")]).InvokeAsync()); // a language model is not a reward model
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--prompt-framing", "paraphrased", "--out", Path.Combine(dir, "ppo5")]).InvokeAsync()); // unknown framing
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--prompt-framing", "contrastive", "--balance-prompts", "false", "--out", Path.Combine(dir, "ppo6")]).InvokeAsync()); // pairs need balanced draws
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--hard-prompt-mining", "-1", "--out", Path.Combine(dir, "ppo8")]).InvokeAsync()); // negative mining boost
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--closed-domain-reward", "1", "--families", "safety", "--out", Path.Combine(dir, "ppo11")]).InvokeAsync()); // nothing for the closed-domain reward to judge
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--closed-domain-reward", "1", "--closed-domain-kinds", "passages", "--out", Path.Combine(dir, "ppo15")]).InvokeAsync()); // not a kind of knowledge question
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--concept-practice", "0.25", "--intent-aux-batch", "4", "--intent-aux", "0.5", "--out", Path.Combine(dir, "ppo17")]).InvokeAsync()); // concept practice without the batch drawn by group
        // Contrastive practice with hard-prompt mining, the per-prompt baseline ablation and the intent and refusal-decision losses: a step drawing pairs (a harmful request and its look-alike together) runs and saves a policy.
        var contrastive = Path.Combine(dir, "ppo7");
        Assert.Equal(0, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--out", contrastive, "--prompt-framing", "contrastive", "--families", "safety,knowledge", "--steps", "1", "--prompts-per-step", "2",
            "--samples", "2", "--max-new-tokens", "4", "--minibatch", "4", "--probe", "0", "--probe-redteam", "0", "--device", "cpu", "--hard-prompt-mining", "20", "--pair-baseline", "false", "--intent-aux", "0.5",
            "--intent-aux-batch", "4", "--practice-batch-by-group", "true", "--refusal-aux", "0.5", "--practice-word-dropout", "0.1", "--policy-average", "0.9", "--probe-seed", "77", "--benign-practice-batch", "2", "--decline-aux", "0.5",
            "--concept-practice", "0.25", "--closed-domain-reward", "0.5", "--closed-domain-kinds", "passage, passage_unanswerable", "--safety-practice-reserve", "0.3",
            "--select-every", "1", "--select-requests", "2", "--select-questions", "1", "--select-seed", "5"]).InvokeAsync());
        Assert.Equal(PromptFraming.Contrastive, PpoTrainer.SavedSettings(contrastive).PromptFraming);
        Assert.Equal(20, PpoTrainer.SavedSettings(contrastive).HardPromptMining);
        Assert.False(PpoTrainer.SavedSettings(contrastive).PairBaseline);
        Assert.Equal(0.5, PpoTrainer.SavedSettings(contrastive).IntentAuxCoefficient);
        Assert.Equal(4, PpoTrainer.SavedSettings(contrastive).IntentAuxBatch);
        Assert.Equal(0.5, PpoTrainer.SavedSettings(contrastive).RefusalAuxCoefficient);
        Assert.True(PpoTrainer.SavedSettings(contrastive).PracticeBatchByGroup);
        Assert.Equal(77, PpoTrainer.SavedSettings(contrastive).ProbeSeed);
        Assert.Equal(0.1, PpoTrainer.SavedSettings(contrastive).PracticeWordDropout);
        Assert.Equal(0.9, PpoTrainer.SavedSettings(contrastive).PolicyAverageDecay);
        Assert.Equal(2, PpoTrainer.SavedSettings(contrastive).BenignPracticeBatch);
        Assert.Equal(0.5, PpoTrainer.SavedSettings(contrastive).DeclineAuxCoefficient);
        Assert.Equal(0.25, PpoTrainer.SavedSettings(contrastive).ConceptPracticeShare);
        Assert.Equal(["passage", "passage_unanswerable"], PpoTrainer.SavedSettings(contrastive).ClosedDomainRewardKinds);
        Assert.Equal(0.3, PpoTrainer.SavedSettings(contrastive).SafetyPracticeReserve);
        Assert.Equal((1, 2, 1, 5L), (PpoTrainer.SavedSettings(contrastive).SelectionEvery, PpoTrainer.SavedSettings(contrastive).SelectionRequests, PpoTrainer.SavedSettings(contrastive).SelectionQuestions, PpoTrainer.SavedSettings(contrastive).SelectionSeed));
        using (ModelBundle.Load(contrastive)) { }   // the intent head stays out of the saved policy
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--intent-aux", "-0.5", "--out", Path.Combine(dir, "ppo9")]).InvokeAsync()); // negative intent-loss weight
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--refusal-aux", "0.5", "--out", Path.Combine(dir, "ppo10")]).InvokeAsync()); // refusal loss without its practice batch
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--benign-practice-batch", "4", "--out", Path.Combine(dir, "ppo12")]).InvokeAsync()); // benign prompts without the refusal-decision loss
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--families", "safety", "--refusal-aux", "0.5", "--intent-aux-batch", "4", "--benign-practice-batch", "4", "--out", Path.Combine(dir, "ppo13")]).InvokeAsync()); // no prompts without safety labels
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--decline-aux", "0.5", "--out", Path.Combine(dir, "ppo14")]).InvokeAsync()); // decline loss without the benign practice batch
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--safety-practice-reserve", "1", "--out", Path.Combine(dir, "ppo16")]).InvokeAsync()); // a reserve of every request leaves fine-tuning none
        Assert.Equal(1, await root.Parse(["ppo", "--model", sft, "--rm", rm, "--select-every", "10", "--select-seed", "1234", "--out", Path.Combine(dir, "ppo18")]).InvokeAsync()); // dev questions drawn from the practice pool's stream
        var fineTune = new RootCommand { ConfigFile.Option, FineTuneCommands.Create() };
        Assert.Equal(1, await fineTune.Parse(["sft", "--model", sft, "--out", Path.Combine(dir, "sft2"), "--safety-practice-reserve", "-0.2", "--device", "cpu"]).InvokeAsync());
        Assert.False(Directory.Exists(Path.Combine(dir, "sft2"))); // refused before the run directory is made
    }
}
