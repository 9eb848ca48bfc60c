using Gpt4Sharp.Runtime;
using System.CommandLine;
using System.Globalization;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Curriculum.Knowledge;
using Spectre.Console;

namespace Gpt4Sharp.Cli;

/// <summary>"rm train" (reward model from comparison pairs) and "ppo" (RLHF against the reward models with a KL penalty).</summary>
public static class RlhfCommands
{
    public static IEnumerable<Command> Create() => [RewardModel(), Ppo()];

    static Command RewardModel()
    {
        var d = new RewardModelSettings();
        var model = Cli.Required<string>("--model", "Fine-tuned run or checkpoint directory (from `sft`) whose weights start the reward model.");
        var outDir = Cli.Opt("--out", "Run directory for the reward model.", d.OutDirectory);
        var data = Cli.Opt<string[]>("--data", "Comparison JSONL files ({\"prompt\", \"chosen\", \"rejected\"} per line), e.g. from the hallucination pipeline.", []);
        data.AllowMultipleArgumentsPerToken = true;
        var pairs = Cli.Opt("--curriculum-pairs", "Comparison pairs built from the safety and knowledge curriculum (0 for files only).", d.CurriculumPairs);
        var facts = Cli.Opt("--fact-pairs", "Curriculum fact questions: closed-book (the backbone must know the fact) or with-reference (the entity's reference sheet is in the prompt).", "closed-book");
        var offTopic = Cli.Opt("--off-topic-share", "Share of curriculum pairs whose rejected reply is off-topic (a decline of an answerable question, a refusal of a safe one, another question's answer).", d.OffTopicShare);
        var likelihood = Cli.Opt("--likelihood", "What the reward adds to its head: none, reply (the reply's log-likelihood under the backbone), pmi (that minus its likelihood without the prompt) reference (the reply's log-likelihood under a frozen copy of the starting model) or gated-reference (that times a learned gate: the model learns where the starting model's likelihood is evidence).", LikelihoodName(d.Likelihood));
        var policyPairs = Cli.Opt("--policy-pairs", "Training-split safety requests the starting model answers 4 times each to make pairs from its own replies, ranked by the rule-based reward model (0: none).", d.PolicyPairPrompts);
        var policyHarmful = Cli.Opt<double?>("--policy-harmful-share", "Share of the policy-pair requests that are harmful, the rest benign (default: the safety family's own mix).");
        var devShare = Cli.Opt("--dev-share", "Share of the training pairs set aside as a dev set (accuracy reported per source), for choosing settings without the held-out pairs.", d.DevShare);
        var steps = Cli.Opt("--steps", "Optimiser steps.", d.Steps);
        var batch = Cli.Opt("--batch-size", "Pairs per step.", d.BatchSize);
        var lr = Cli.Opt("--lr", "Peak learning rate.", d.LearningRate);
        var evalEvery = Cli.Opt("--eval-every", "Steps between held-out accuracy checks.", d.EvalEvery);
        var checkpointEvery = Cli.Opt("--checkpoint-every", "Steps between checkpoints (0: only at the end or when stopped).", d.CheckpointEvery);
        var seed = Cli.Opt("--seed", "Seed for pairs, order and the head's initialisation.", d.Seed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);
        var resume = Cli.Opt("--resume", "Continue the run in --out from its newest valid checkpoint, with the settings saved there.", false);
        var train = new Command("train", "Train a reward model (scalar head, Bradley-Terry loss) on comparison pairs; reports held-out pair accuracy.")
        {
            model, outDir, data, pairs, facts, offTopic, likelihood, policyPairs, policyHarmful, devShare, steps, batch, lr, evalEvery, checkpointEvery, seed, device, resume,
        };
        train.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var settings = d with
            {
                BaseModel = p.GetValue(model)!, OutDirectory = p.GetValue(outDir)!, DataFiles = p.GetValue(data) ?? [], CurriculumPairs = p.GetValue(pairs),
                FactPairs = ParseFactPairs(p.GetValue(facts)!), OffTopicShare = p.GetValue(offTopic),
                Likelihood = ParseLikelihood(p.GetValue(likelihood)!), DevShare = p.GetValue(devShare), PolicyPairPrompts = p.GetValue(policyPairs), PolicyHarmfulShare = p.GetValue(policyHarmful),
                Steps = p.GetValue(steps), BatchSize = p.GetValue(batch), LearningRate = p.GetValue(lr), EvalEvery = p.GetValue(evalEvery),
                CheckpointEvery = p.GetValue(checkpointEvery), Seed = p.GetValue(seed), Device = p.GetValue(device)!,
            };
            var r = StepDisplay.Run<RewardModelProgress, RewardModelResult>("rm train", settings.Steps, x => x.Step,
                x => $"step {x.Step}/{x.Steps}  loss {x.Loss:F4}  batch acc {x.BatchAccuracy:P0}" + (x.HeldOutAccuracy is { } a ? $"  held-out acc {a:P1}" : ""),
                progress => RewardModelTraining.Run(settings, p.GetValue(resume), progress, Log, cancel));
            var table = new Table().Title("reward model summary").AddColumns("what", "value");
            table.AddRow("pairs (train / held out)", $"{r.TrainPairs:N0} / {r.HeldOutPairs:N0}");
            if (r.PolicyPairs > 0) table.AddRow("  of which from the model's own replies", $"{r.PolicyPairs:N0}");
            table.AddRow("held-out accuracy", $"{r.InitialHeldOutAccuracy:P1} -> {r.HeldOutAccuracy:P1}");
            foreach (var s in r.BySource)
                table.AddRow($"  {Markup.Escape(s.Source)}", $"{s.Accuracy:P1} of {s.Pairs}" + (double.IsNaN(s.LikelihoodAccuracy) ? "" : $" (backbone likelihood {s.LikelihoodAccuracy:P1})"));
            if (r.DevPairs > 0)
            {
                table.AddRow("dev accuracy (from training pairs)", $"{r.DevAccuracy:P1} of {r.DevPairs}");
                foreach (var s in r.DevBySource)
                    table.AddRow($"  dev {Markup.Escape(s.Source)}", $"{s.Accuracy:P1} of {s.Pairs}" + (double.IsNaN(s.LikelihoodAccuracy) ? "" : $" (backbone likelihood {s.LikelihoodAccuracy:P1})"));
            }
            table.AddRow("final loss", $"{r.FinalLoss:F4}");
            table.AddRow("reward normalisation", $"mean {r.RewardMean:F4}, std {r.RewardStd:F4}");
            table.AddRow("training time", $"{r.TrainSeconds:F0} s");
            table.AddRow("checkpoint", Markup.Escape(r.CheckpointDirectory));
            AnsiConsole.Write(table);
            if (!r.Completed) AnsiConsole.MarkupLineInterpolated($"[yellow]Stopped early; continue with: gpt4sharp rm train --model {settings.BaseModel} --out {r.OutDirectory} --resume[/]");
            return r.Completed ? 0 : 130;
        });
        return new Command("rm", "Learned reward model.") { train, Score() };
    }

    /// <summary>"rm score": what a trained reward model makes of replies to one prompt, to see what PPO is rewarded for.</summary>
    static Command Score()
    {
        var model = Cli.Required<string>("--model", "Run or checkpoint directory of a reward model (from `rm train`).");
        var prompt = Cli.Required<string>("--prompt", "The user's message.");
        var responses = Cli.Required<string[]>("--response", "Replies to score (give the option several times, or several values after it).");
        responses.AllowMultipleArgumentsPerToken = true;
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", "cpu");
        var score = new Command("score", "Normalised reward of each reply to a prompt (0 is the training pairs' mean, 1 their standard deviation).") { model, prompt, responses, device };
        score.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            var replies = p.GetValue(responses)!;
            if (replies.Length == 0) throw new UserError("Give at least one --response to score.");
            using var rm = LearnedRewardModel.Load(p.GetValue(model)!, TorchRuntime.ParseDevice(p.GetValue(device)!), Log);
            var scores = rm.Score([.. replies.Select(r => (p.GetValue(prompt)!, r))]);
            var table = new Table().Title("reward").AddColumns("reply", "normalised reward");
            foreach (var (reply, value) in replies.Zip(scores)) table.AddRow(Markup.Escape(reply), value.ToString("F3", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        });
        return score;
    }

    static Command Ppo()
    {
        var d = new PpoSettings();
        var model = Cli.Required<string>("--model", "Fine-tuned run or checkpoint directory (from `sft`): the starting policy and the frozen KL reference.");
        var rm = Cli.Opt<string[]>("--rm", "Reward-model run directories (from `rm train`); their normalised scores are added.", []);
        rm.AllowMultipleArgumentsPerToken = true;
        var rbrm = Cli.Opt("--rbrm", "Add the rule-based reward model's reward (refuse harmful requests in the desired style, do not refuse safe ones).", true);
        var rmWeight = Cli.Opt("--rm-weight", "Weight of each learned reward model's normalised score in the summed reward (1: as trained).", d.RewardModelWeight);
        var rubric = Cli.Opt<string?>("--rubric", "Rubric JSON for the rule-based reward model (default: the built-in rubric).");
        var outDir = Cli.Opt("--out", "Run directory for the PPO policy.", d.OutDirectory);
        var families = Cli.Opt("--families", "Comma-separated curriculum families whose training prompts PPO practises on.", string.Join(",", d.Families));
        var steps = Cli.Opt("--steps", "PPO steps (rollouts + updates).", d.Steps);
        var prompts = Cli.Opt("--prompts-per-step", "Prompts per step.", d.PromptsPerStep);
        var samples = Cli.Opt("--samples", "Completions per prompt, sampled in one batch.", d.SamplesPerPrompt);
        var maxNew = Cli.Opt("--max-new-tokens", "Longest sampled reply.", d.MaxNewTokens);
        var epochs = Cli.Opt("--epochs", "Passes over each batch of rollouts.", d.Epochs);
        var minibatch = Cli.Opt("--minibatch", "Rollouts per gradient step.", d.MinibatchSize);
        var lr = Cli.Opt("--lr", "Learning rate.", d.LearningRate);
        var klCoef = Cli.Opt("--kl-coef", "Initial KL coefficient β.", d.InitialKlCoefficient);
        var klTarget = Cli.Opt("--kl-target", "Per-reply KL (nats) the adaptive controller aims for.", d.KlTarget);
        var klHorizon = Cli.Opt("--kl-horizon", "Rollouts over which β may move by 20 % (0: a tenth of the run's rollouts).", d.KlHorizon);
        var balance = Cli.Opt("--balance-prompts", "Draw practice prompts family by family and kind by kind in equal shares (false: uniformly from the pooled prompts).", d.BalancePrompts);
        var reserve = Cli.Opt("--safety-practice-reserve", "Practise only on the safety requests fine-tuning left out: the share given to `sft --safety-practice-reserve` (0: every training-split safety request).", d.SafetyPracticeReserve);
        var framing = Cli.Opt("--prompt-framing", "How safety practice prompts are worded: curriculum (as the curriculum asks them), varied (each training request re-asked in several training frames, paraphrases of them and wrappers) or contrastive (each topic × intent request beside its look-alike of the other intent, same topic and frame, in one step, in frames of many shapes); held-out and dev frames are never used.", FramingName(d.PromptFraming));
        var mining = Cli.Opt("--hard-prompt-mining", "Hard-prompt mining boost B (0: off): a safety practice prompt (or contrastive pair) is drawn with weight 1 + B × the share of its samples that went wrong last time it was drawn (harmful answered, benign refused).", d.HardPromptMining);
        var intentAux = Cli.Opt("--intent-aux", "Weight C of an auxiliary intent loss (0: off): a second head on the policy's trunk learns, with cross-entropy at the end of each safety practice prompt, whether the request is harmful, and C × its loss joins every PPO update; the head is not saved with the policy.", d.IntentAuxCoefficient);
        var intentBatch = Cli.Opt("--intent-aux-batch", "With --intent-aux or --refusal-aux, labelled safety practice prompts N (0: none) that those losses also read in every PPO update, beside the step's own rollouts.", d.IntentAuxBatch);
        var batchByGroup = Cli.Opt("--practice-batch-by-group", "Draw the --intent-aux-batch prompts group by group in the rollouts' shares (contrastive pairs, the family's fixed harmful requests, its fixed benign look-alikes) instead of uniformly from the pooled prompts.", d.PracticeBatchByGroup);
        var benignBatch = Cli.Opt("--benign-practice-batch", "With --intent-aux-batch, practice prompts without safety labels N (0: none; the knowledge family's questions and passages) added to every practice batch as benign, so the refusal-decision loss also learns not to refuse them (needs --refusal-aux; the intent head keeps reading the safety prompts alone).", d.BenignPracticeBatch);
        var conceptShare = Cli.Opt("--concept-practice", "Share of the practice batch's safety draws (with --practice-batch-by-group) given to requests about the hazards family's concepts (0: off): \"Help me with a land mine.\" labelled harmful, \"Help me with a smoke alarm.\" benign, for the intent and refusal-decision losses; concepts a held-out safety request covers are left out. For a base pretrained with the hazards family.", d.ConceptPracticeShare);
        var declineAux = Cli.Opt("--decline-aux", "Weight C of an auxiliary decline-decision loss (0: off; needs --benign-practice-batch): on the benign knowledge practice prompts of every practice batch, the probability that the reply opens like the curriculum's declines (two-token openings of \"I don't know of any ...\" and \"The passage does not say.\" that open none of its answers) is trained up where the curriculum's reply opens so and down elsewhere, and C × its cross-entropy joins every PPO update.", d.DeclineAuxCoefficient);
        var wordDropout = Cli.Opt("--practice-word-dropout", "Probability P (0: off) that each word of an --intent-aux-batch prompt is left out before the intent and refusal-decision losses read it, labels kept, so a request must be recognised from part of its wording.", d.PracticeWordDropout);
        var policyAverage = Cli.Opt("--policy-average", "Decay D (0: off) of a moving average of the policy's weights over PPO steps, saved and probed instead of the last step's weights (about 1 / (1 - D) steps averaged).", d.PolicyAverageDecay);
        var selectEvery = Cli.Opt("--select-every", "Checkpoint selection (0: off): every N steps and after the last, the policy answers dev prompts (training-split safety requests in sentence frames no stage practises, training-split unknown-entity and answerable questions), and the run keeps the weights of the step with the fewest errors on them (the sum of the four rates).", d.SelectionEvery);
        var selectRequests = Cli.Opt("--select-requests", "Dev safety requests the checkpoint selection asks (about half harmful).", d.SelectionRequests);
        var selectQuestions = Cli.Opt("--select-questions", "Dev unknown-entity questions, and as many answerable ones, the checkpoint selection asks.", d.SelectionQuestions);
        var selectSeed = Cli.Opt("--select-seed", "Seed of the checkpoint selection's dev prompts (must differ from --seed, whose knowledge stream makes the practice pool).", d.SelectionSeed);
        var closedDomain = Cli.Opt("--closed-domain-reward", "Weight of the closed-domain reward (0: off): on the knowledge family's practice prompts its checker rewards a right answer or a due \"I don't know\" (+1), a decline of an answerable question (0) and anything else (-1), added to the other rewards.", d.ClosedDomainRewardWeight);
        var closedDomainKinds = Cli.Opt("--closed-domain-kinds", $"Comma-separated kinds of knowledge question the closed-domain reward judges ({string.Join(", ", KnowledgeFamily.QuestionKinds)}); \"passage,passage_unanswerable\" keeps it to the reference passages, so declining an answerable closed-book question no longer earns more than a wrong answer.", string.Join(",", d.ClosedDomainRewardKinds));
        var refusalAux = Cli.Opt("--refusal-aux", "Weight C of an auxiliary refusal-decision loss (0: off; needs --intent-aux-batch N): for the N labelled safety practice prompts of every PPO update, the probability that the reply opens like the curriculum's refusals is trained up for harmful requests and down for benign ones, and C × its cross-entropy joins every PPO update.", d.RefusalAuxCoefficient);
        var groupBaseline = Cli.Opt("--group-baseline", "Subtract from each reply's score the mean score of the other replies to the same prompt (needs --samples 2 or more).", d.GroupBaseline);
        var pairBaseline = Cli.Opt("--pair-baseline", "With --group-baseline and contrastive framing, baseline the rule-based reward over a pair's replies together (false: per prompt, as the learned reward).", d.PairBaseline);
        var probe = Cli.Opt("--probe", "Held-out safety prompts for the before/after rates (0 skips; passages get half as many).", d.ProbeSafetyPrompts);
        var probeRedTeam = Cli.Opt("--probe-redteam", "Held-out red-team requests for the before/after rates, each asked four ways (0 skips).", d.ProbeRedTeamRequests);
        var checkpointEvery = Cli.Opt("--checkpoint-every", "Steps between checkpoints (0: only at the end or when stopped).", d.CheckpointEvery);
        var seed = Cli.Opt("--seed", "Seed for prompts, sampling and minibatch order.", d.Seed);
        var probeSeed = Cli.Opt("--probe-seed", "Seed of the held-out prompts the before/after probe samples (kept apart from --seed, so runs with different seeds are measured on the same prompts).", d.ProbeSeed);
        var device = Cli.Opt("--device", "cpu, cuda, cuda:N or auto.", d.Device);
        var resume = Cli.Opt("--resume", "Continue the run in --out from its newest saved state, with the settings and rewards saved there.", false);
        var command = new Command("ppo", "Stage 3: RLHF with PPO against reward models, with an adaptive KL penalty to the fine-tuned model.")
        {
            model, rm, rmWeight, rbrm, rubric, outDir, families, steps, prompts, samples, maxNew, epochs, minibatch, lr, klCoef, klTarget, klHorizon, balance, reserve, framing, mining, intentAux, intentBatch, batchByGroup, benignBatch, conceptShare, declineAux, wordDropout, refusalAux, policyAverage, selectEvery, selectRequests, selectQuestions, selectSeed, closedDomain, closedDomainKinds, groupBaseline, pairBaseline, probe, probeRedTeam,
            checkpointEvery, seed, probeSeed, device, resume,
        };
        command.SetHandler((p, cancel) =>
        {
            Cli.RequireTorch();
            bool resuming = p.GetValue(resume);
            var settings = resuming ? PpoTrainer.SavedSettings(p.GetValue(outDir)!) : d with
            {
                PolicyModel = p.GetValue(model)!, RewardModels = p.GetValue(rm) ?? [], OutDirectory = p.GetValue(outDir)!,
                RuleBasedReward = p.GetValue(rbrm) || p.GetValue(rubric) is not null, Rubric = p.GetValue(rubric), RewardModelWeight = p.GetValue(rmWeight),
                Families = p.GetValue(families)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Steps = p.GetValue(steps), PromptsPerStep = p.GetValue(prompts), SamplesPerPrompt = p.GetValue(samples), MaxNewTokens = p.GetValue(maxNew),
                Epochs = p.GetValue(epochs), MinibatchSize = p.GetValue(minibatch), LearningRate = p.GetValue(lr),
                InitialKlCoefficient = p.GetValue(klCoef), KlTarget = p.GetValue(klTarget), KlHorizon = p.GetValue(klHorizon), BalancePrompts = p.GetValue(balance), SafetyPracticeReserve = p.GetValue(reserve), PromptFraming = ParseFraming(p.GetValue(framing)!), HardPromptMining = p.GetValue(mining), IntentAuxCoefficient = p.GetValue(intentAux), IntentAuxBatch = p.GetValue(intentBatch), PracticeBatchByGroup = p.GetValue(batchByGroup), BenignPracticeBatch = p.GetValue(benignBatch), ConceptPracticeShare = p.GetValue(conceptShare), DeclineAuxCoefficient = p.GetValue(declineAux), PracticeWordDropout = p.GetValue(wordDropout), PolicyAverageDecay = p.GetValue(policyAverage), SelectionEvery = p.GetValue(selectEvery), SelectionRequests = p.GetValue(selectRequests), SelectionQuestions = p.GetValue(selectQuestions), SelectionSeed = p.GetValue(selectSeed), RefusalAuxCoefficient = p.GetValue(refusalAux), ClosedDomainRewardWeight = p.GetValue(closedDomain), ClosedDomainRewardKinds = p.GetValue(closedDomainKinds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), GroupBaseline = p.GetValue(groupBaseline), PairBaseline = p.GetValue(pairBaseline),
                ProbeSafetyPrompts = p.GetValue(probe), ProbePassagePrompts = p.GetValue(probe) / 2, ProbeRedTeamRequests = p.GetValue(probeRedTeam),
                CheckpointEvery = p.GetValue(checkpointEvery), Seed = p.GetValue(seed), ProbeSeed = p.GetValue(probeSeed), Device = p.GetValue(device)!,
            };
            using var scorers = PpoRewards.Load(settings, Log);
            Log($"Reward = {string.Join(" + ", scorers.Select(s => s.Name))} - β·KL.");
            var r = StepDisplay.Run<PpoStepMetrics, PpoResult>("ppo", settings.Steps, x => x.Step, Describe,
                progress => PpoTrainer.Run(settings, scorers, progress, Log, cancel, resuming));
            Summarise(r);
            if (!r.Completed) AnsiConsole.MarkupLineInterpolated($"[yellow]Stopped early; continue with: gpt4sharp ppo --model {settings.PolicyModel} --out {r.OutDirectory} --resume[/]");
            return r.Completed ? 0 : 130;
        });
        return command;
    }

    static string Describe(PpoStepMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"step {m.Step}/{m.Steps}  reward {m.Reward:F3}  kl {m.Kl:F3} (β {m.KlCoefficient:F3})  clipfrac {m.ClipFraction:F3}  entropy {m.Entropy:F2}  value loss {m.ValueLoss:F4}{(m.IntentLoss is { } intent ? $"  intent loss {intent:F4}" : "")}{(m.RefusalLoss is { } refusal ? $"  refusal loss {refusal:F4}" : "")}{(m.DeclineLoss is { } decline ? $"  decline loss {decline:F4}" : "")}  {m.Seconds:F1} s");

    static void Summarise(PpoResult r)
    {
        var table = new Table().Title("PPO summary").AddColumns("what", "first step", "last step");
        if (r.Steps.Count > 0)
        {
            var (first, last) = (r.Steps[0], r.Steps[^1]);
            table.AddRow("objective/reward", $"{first.Reward:F3}", $"{last.Reward:F3}");
            table.AddRow("objective/kl", $"{first.Kl:F3}", $"{last.Kl:F3}");
            table.AddRow("KL coefficient β", $"{first.KlCoefficient:F4}", $"{last.KlCoefficient:F4}");
            table.AddRow("policy/entropy", $"{first.Entropy:F3}", $"{last.Entropy:F3}");
            table.AddRow("reply length (tokens)", $"{first.ResponseLength:F1}", $"{last.ResponseLength:F1}");
        }
        AnsiConsole.Write(table);
        if (r.Before is { } before)
        {
            var rates = new Table().Title("held-out rates (greedy replies)").AddColumns("rate", "SFT (before)", "PPO (after)");
            rates.AddRow("harmful compliance", $"{before.HarmfulCompliance:P1}", r.After is { } a1 ? $"{a1.HarmfulCompliance:P1}" : "-");
            rates.AddRow("over-refusal", $"{before.OverRefusal:P1}", r.After is { } a2 ? $"{a2.OverRefusal:P1}" : "-");
            rates.AddRow("closed-domain hallucination", $"{before.ClosedDomainHallucination:P1}", r.After is { } a3 ? $"{a3.ClosedDomainHallucination:P1}" : "-");
            rates.AddRow("red team: harmful compliance (RBRM class C)", $"{before.RedTeamHarmfulCompliance:P1}", r.After is { } a4 ? $"{a4.RedTeamHarmfulCompliance:P1}" : "-");
            rates.AddRow("red team: over-refusal (RBRM class A or B)", $"{before.RedTeamOverRefusal:P1}", r.After is { } a5 ? $"{a5.RedTeamOverRefusal:P1}" : "-");
            AnsiConsole.Write(rates);
        }
        if (r.SelectedStep is { } selected)
        {
            var dev = new Table().Title("checkpoint selection (dev prompts)").AddColumns("step", "harmful compliance", "over-refusal", "unknown-entity hallucination", "answerable declined", "error");
            foreach (var d in r.Dev)
                dev.AddRow(d.Step == selected ? $"{d.Step} (selected)" : $"{d.Step}", $"{d.HarmfulCompliance:P1}", $"{d.OverRefusal:P1}", $"{d.UnknownEntityHallucination:P1}", $"{d.AnswerableDeclined:P1}", $"{d.Error:F3}");
            AnsiConsole.Write(dev);
        }
        AnsiConsole.MarkupLineInterpolated($"Policy checkpoint: {r.CheckpointDirectory}{(r.SelectedStep is { } step ? $" (the weights after step {step})" : "")}");
        AnsiConsole.MarkupLineInterpolated($"Metrics: {Path.Combine(r.OutDirectory, Gpt4Sharp.Reporting.Results.FileName)}; report with the metric charts: {Path.Combine(r.OutDirectory, "report.html")}");
    }

    static void Log(string line) => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]");

    static RewardLikelihood ParseLikelihood(string value) => value switch
    {
        "none" => RewardLikelihood.None,
        "reply" => RewardLikelihood.Reply,
        "pmi" => RewardLikelihood.PointwiseMutualInformation,
        "reference" => RewardLikelihood.Reference,
        "gated-reference" => RewardLikelihood.GatedReference,
        _ => throw new UserError($"--likelihood is '{value}'; use none, reply, pmi, reference or gated-reference."),
    };

    static PromptFraming ParseFraming(string value) => value switch
    {
        "curriculum" => PromptFraming.Curriculum,
        "varied" => PromptFraming.Varied,
        "contrastive" => PromptFraming.Contrastive,
        _ => throw new UserError($"--prompt-framing is '{value}'; use curriculum, varied or contrastive."),
    };

    static string FramingName(PromptFraming value) => value.ToString().ToLowerInvariant();

    static string LikelihoodName(RewardLikelihood value) => value switch
    {
        RewardLikelihood.None => "none",
        RewardLikelihood.Reply => "reply",
        RewardLikelihood.PointwiseMutualInformation => "pmi",
        RewardLikelihood.Reference => "reference",
        _ => "gated-reference",
    };

    static FactPairs ParseFactPairs(string value) => value switch
    {
        "closed-book" => FactPairs.ClosedBook,
        "with-reference" => FactPairs.WithReference,
        _ => throw new UserError($"--fact-pairs is '{value}'; use closed-book or with-reference."),
    };

    /// <summary>A progress bar on a terminal; a line every few seconds when output is redirected.</summary>
    static class StepDisplay
    {
        public static TResult Run<TProgress, TResult>(string title, int total, Func<TProgress, int> step, Func<TProgress, string> describe, Func<IProgress<TProgress>, TResult> work)
        {
            if (!AnsiConsole.Profile.Capabilities.Interactive)
            {
                var last = DateTime.MinValue;
                return work(new InlineProgress<TProgress>(x =>
                {
                    if (step(x) != total && DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                    last = DateTime.UtcNow;
                    AnsiConsole.WriteLine(describe(x));
                }));
            }
            TResult result = default!;
            AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(title, maxValue: total);
                    result = work(new InlineProgress<TProgress>(x =>
                    {
                        task.Value = step(x);
                        task.Description = Markup.Escape(describe(x));
                    }));
                });
            return result;
        }
    }
}
