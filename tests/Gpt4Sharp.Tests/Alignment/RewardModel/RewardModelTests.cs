using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Curriculum.Safety;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Alignment.RewardModel;

public class RewardModelTests
{
    [Fact]
    public void Curriculum_pairs_prefer_the_desired_behaviour_and_keep_both_splits()
    {
        var pairs = CurriculumComparisons.Build(seed: 3, count: 400);
        Assert.Equal(400, pairs.Count);
        Assert.Contains(pairs, p => p.Split == Split.Eval);
        Assert.All(pairs, p => Assert.NotEqual(p.Chosen, p.Rejected));
        Assert.All(pairs.Where(p => p.Source == "safety/harmful"), p =>
        {
            Assert.True(SafetyFamily.IsRefusal(p.Chosen));
            Assert.False(SafetyFamily.IsRefusal(p.Rejected));
        });
        Assert.All(pairs.Where(p => p.Source == "safety/benign"), p => Assert.True(SafetyFamily.IsRefusal(p.Rejected)));
        Assert.All(pairs.Where(p => p.Source == "knowledge/unknown_entity"), p =>
        {
            Assert.True(KnowledgeFamily.SaysDontKnow(p.Chosen));
            Assert.False(KnowledgeFamily.SaysDontKnow(p.Rejected));
        });
        var sources = pairs.Select(p => p.Source).ToHashSet();
        Assert.Superset(new HashSet<string> { "safety/harmful", "safety/benign", "knowledge/question", "knowledge/unknown_entity" }, sources);
    }

    [Fact]
    public void Fact_pairs_with_reference_show_the_sheet_that_decides_them_and_keep_the_split()
    {
        var closed = CurriculumComparisons.Build(seed: 3, count: 400);
        var referenced = CurriculumComparisons.Build(seed: 3, count: 400, facts: FactPairs.WithReference);
        Assert.Equal(closed.Count, referenced.Count);
        var withSheet = referenced.Where(p => p.Source == "knowledge/question+reference").ToList();
        Assert.Equal(closed.Count(p => p.Source == "knowledge/question"), withSheet.Count);
        Assert.DoesNotContain(referenced, p => p.Source == "knowledge/question");
        Assert.All(withSheet, p =>
        {
            // The reference sheet states the chosen reply word for word, and not the rejected one.
            Assert.StartsWith("Passage: ", p.Prompt);
            Assert.Contains(p.Chosen, p.Prompt);
            Assert.DoesNotContain(p.Rejected, p.Prompt);
        });
        // Only the fact questions change: every other pair, and every pair's side of the split, is as before.
        for (int i = 0; i < closed.Count; i++)
        {
            Assert.Equal(closed[i].Split, referenced[i].Split);
            Assert.Equal((closed[i].Chosen, closed[i].Rejected), (referenced[i].Chosen, referenced[i].Rejected));
            if (closed[i].Source != "knowledge/question") Assert.Equal(closed[i], referenced[i]);
            else Assert.EndsWith(closed[i].Prompt, referenced[i].Prompt);
        }
    }

    [Fact]
    public void Comparison_jsonl_reads_pairs_and_names_bad_lines()
    {
        var file = Path.Combine(RepoPaths.NewTempDir(), "pairs.jsonl");
        File.WriteAllLines(file, ["{\"prompt\": \"p\", \"chosen\": \"good\", \"rejected\": \"bad\"}", "", "{\"prompt\": \"p2\", \"chosen\": \"x\"}"]);
        var e = Assert.Throws<UserError>(() => ComparisonJsonl.Read(file).ToList());
        Assert.Contains("pairs.jsonl:3", e.Message);
        File.WriteAllLines(file, ["{\"prompt\": \"p\", \"chosen\": \"good\", \"rejected\": \"bad\"}"]);
        var pair = Assert.Single(ComparisonJsonl.Read(file));
        Assert.Equal(("p", "good", "bad", "pairs"), (pair.Prompt, pair.Chosen, pair.Rejected, pair.Source));
    }

    /// <summary>A learnable preference: a reply that agrees ("yes ...") beats one that declines ("no ..."), on varied prompts.</summary>
    static string AgreementPairs()
    {
        var file = Path.Combine(RepoPaths.NewTempDir(), "agree.jsonl");
        File.WriteAllLines(file, Enumerable.Range(0, 300).Select(i =>
            $"{{\"prompt\": \"question {i * 7919 % 1000}\", \"chosen\": \"yes {i % 10}\", \"rejected\": \"no {i % 10}\"}}"));
        return file;
    }

    [Fact]
    public void Bradley_terry_training_reaches_high_held_out_accuracy_and_loads_back_normalised()
    {
        var file = AgreementPairs();
        var outDir = Path.Combine(RepoPaths.NewTempDir(), "rm");
        var result = RewardModelTraining.Run(new RewardModelSettings
        {
            BaseModel = TinyRun.Create(), OutDirectory = outDir, DataFiles = [file], CurriculumPairs = 0, PolicyPairPrompts = 0,
            Steps = 40, BatchSize = 16, LearningRate = 3e-3, WarmupSteps = 5, EvalEvery = 20, ReferenceReplies = 64, Device = "cpu",
        });
        Assert.True(result.Completed);
        Assert.True(result.HeldOutPairs > 0);
        Assert.True(result.HeldOutAccuracy >= 0.9, $"held-out accuracy {result.HeldOutAccuracy}");
        var source = Assert.Single(result.BySource);
        Assert.InRange(source.LikelihoodAccuracy, 0, 1);

        using var rm = LearnedRewardModel.Load(outDir);
        var scorer = new RewardModelScorer(rm);
        var scores = scorer.Score([("question 5", "yes 3"), ("question 5", "no 3")]);
        Assert.True(scores[0] > scores[1]);
        Assert.Equal(result.RewardMean, rm.Mean, 6);
        // Normalised over the reference replies (half chosen, half rejected): the two kinds sit either side of 0.
        Assert.True(scores[0] > 0 && scores[1] < 0, $"{scores[0]} {scores[1]}");
        // PPO's --rm-weight scales the normalised score and nothing else.
        var half = new RewardModelScorer(rm, weight: 0.5).Score([("question 5", "yes 3"), ("question 5", "no 3")]);
        Assert.Equal(0.5 * scores[0], half[0], 6);
        Assert.Equal(0.5 * scores[1], half[1], 6);
        Assert.True(File.Exists(Path.Combine(outDir, Gpt4Sharp.Reporting.Results.FileName)));
    }

    [Fact]
    public void Resumed_training_repeats_an_uninterrupted_run()
    {
        var (file, model) = (AgreementPairs(), TinyRun.Create());
        RewardModelSettings Settings(string dir) => new()
        {
            BaseModel = model, OutDirectory = dir, DataFiles = [file], CurriculumPairs = 0, PolicyPairPrompts = 0, Steps = 8, BatchSize = 8, LearningRate = 3e-3,
            WarmupSteps = 2, EvalEvery = 4, CheckpointEvery = 0, ReferenceReplies = 32, Device = "cpu",
        };
        var whole = Path.Combine(RepoPaths.NewTempDir(), "rm");
        var uninterrupted = RewardModelTraining.Run(Settings(whole));

        var split = Path.Combine(RepoPaths.NewTempDir(), "rm");
        using var stop = new CancellationTokenSource();
        var first = RewardModelTraining.Run(Settings(split), progress: new ProgressCallback<RewardModelProgress>(p => { if (p.Step == 3) stop.Cancel(); }), cancel: stop.Token);
        Assert.False(first.Completed);
        Assert.Equal(3, CheckpointStore.Inspect(split).Step);
        var second = RewardModelTraining.Run(Settings(split) with { LearningRate = 1, Steps = 2 }, resume: true); // settings come from the run, not the caller

        Assert.True(second.Completed);
        Assert.Equal(Losses(whole), Losses(split));
        Assert.Equal(8, Losses(split).Length);
        Assert.Equal(uninterrupted.InitialHeldOutAccuracy, second.InitialHeldOutAccuracy);
        Assert.Equal(uninterrupted.HeldOutAccuracy, second.HeldOutAccuracy);
        Assert.Equal((uninterrupted.RewardMean, uninterrupted.RewardStd), (second.RewardMean, second.RewardStd));
        Assert.Equal(uninterrupted.BySource, second.BySource); // including the likelihood baseline measured before step 1
        var e = Assert.Throws<UserError>(() => RewardModelTraining.Run(Settings(split)));
        Assert.Contains("--resume", e.Message);
    }

    static double[] Losses(string runDir) => [.. CheckpointStore.Inspect(runDir).State.LossHistory.Select(p => p.Loss)];

    [Theory]
    [InlineData(RewardLikelihood.Reply)]
    [InlineData(RewardLikelihood.PointwiseMutualInformation)]
    [InlineData(RewardLikelihood.Reference)]
    public void The_raw_reward_adds_the_reply_log_likelihood_and_not_the_prompts(RewardLikelihood kind)
    {
        using var rm = LearnedRewardModel.FromLanguageModel(TinyRun.Create(), TorchSharp.torch.CPU, seed: 5, likelihood: kind);
        using (TorchSharp.torch.no_grad()) rm.named_parameters().Single(p => p.name == "score.weight").parameter.zero_();
        using var model = ModelBundle.Load(TinyRun.Create()).Model; // the same weights (seed 7), read independently
        double ReplyLogLikelihood(int[] ids)
        {
            var logProbs = model.Forward(TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))
                .log_softmax(-1).data<float>().ToArray();
            int vocab = model.Config.VocabSize;
            int tag = Array.LastIndexOf(ids, rm.Tokenizer.SpecialTokenId(Gpt4Sharp.Text.SpecialTokens.Assistant)!.Value);
            return Enumerable.Range(tag + 1, ids.Length - tag - 1).Sum(t => (double)logProbs[(t - 1) * vocab + ids[t]]);
        }
        var pairs = new[] { ("a long prompt about towns and rivers", "yes"), ("hi", "no, I do not think so") };
        var sequences = pairs.Select(p => rm.Encode(p.Item1, p.Item2)).ToArray();
        var (tokens, lengths) = rm.Batch(sequences);
        var raw = rm.RawScores(tokens, lengths).data<float>().ToArray();
        for (int i = 0; i < sequences.Length; i++)
        {
            // Pointwise mutual information: the same reply after an empty user turn is the baseline.
            double expected = ReplyLogLikelihood(sequences[i]) - (kind == RewardLikelihood.PointwiseMutualInformation ? ReplyLogLikelihood(rm.Encode("", pairs[i].Item2)) : 0);
            Assert.Equal(expected, raw[i], 3);
        }
    }

    [Fact]
    public void The_gated_likelihood_is_the_frozen_likelihood_times_a_learned_gate_and_loads_back()
    {
        var model = TinyRun.Create();
        using var plain = LearnedRewardModel.FromLanguageModel(model, TorchSharp.torch.CPU, seed: 5, likelihood: RewardLikelihood.Reference);
        using var gated = LearnedRewardModel.FromLanguageModel(model, TorchSharp.torch.CPU, seed: 5, likelihood: RewardLikelihood.GatedReference);
        TorchSharp.Modules.Parameter Param(LearnedRewardModel rm, string name) => rm.named_parameters().Single(p => p.name == name).parameter;
        using (TorchSharp.torch.no_grad())
        {
            Param(plain, "score.weight").zero_();
            Param(gated, "score.weight").zero_();
            Param(gated, "likelihood_gate.weight").zero_();
        }
        var (tokens, lengths) = plain.Batch([plain.Encode("Where is Kalomi?", "Kalomi is a town in Veluria."), plain.Encode("hi", "I can't help with that.")]);
        var frozen = plain.RawScores(tokens, lengths).data<float>().ToArray();
        // A closed gate input (weight 0, bias 0) is sigmoid(0) = 1/2 of the frozen likelihood; a very negative bias shuts it.
        Assert.Equal(frozen.Select(f => f / 2), gated.RawScores(tokens, lengths).data<float>().ToArray().Select(x => (float)x), new FloatTolerance(1e-3f));
        using (TorchSharp.torch.no_grad()) Param(gated, "likelihood_gate.bias").fill_(-40);
        Assert.All(gated.RawScores(tokens, lengths).data<float>().ToArray(), x => Assert.InRange(x, -1e-3f, 1e-3f));

        var outDir = Path.Combine(RepoPaths.NewTempDir(), "rm");
        RewardModelTraining.Run(new RewardModelSettings
        {
            BaseModel = model, OutDirectory = outDir, DataFiles = [AgreementPairs()], CurriculumPairs = 0, PolicyPairPrompts = 0, Likelihood = RewardLikelihood.GatedReference,
            Steps = 3, BatchSize = 8, WarmupSteps = 1, EvalEvery = 0, CheckpointEvery = 0, ReferenceReplies = 16, Device = "cpu",
        });
        using var loaded = LearnedRewardModel.Load(outDir);
        Assert.Equal(RewardLikelihood.GatedReference, loaded.Likelihood);
        Assert.Contains(loaded.named_parameters(), p => p.name == "likelihood_gate.weight");
        Assert.True(loaded.TrainableParameters().Count() < loaded.parameters().Count()); // the reference half stays frozen
    }

    sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));
        public int GetHashCode(float obj) => 0;
    }

    [Fact]
    public void The_reference_likelihood_stays_frozen_through_training_and_loads_back()
    {
        var (file, model) = (AgreementPairs(), TinyRun.Create());
        var outDir = Path.Combine(RepoPaths.NewTempDir(), "rm");
        var result = RewardModelTraining.Run(new RewardModelSettings
        {
            BaseModel = model, OutDirectory = outDir, DataFiles = [file], CurriculumPairs = 0, PolicyPairPrompts = 0, Likelihood = RewardLikelihood.Reference, DevShare = 0.2,
            Steps = 12, BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 2, EvalEvery = 0, CheckpointEvery = 0, ReferenceReplies = 32, Device = "cpu",
        });
        // The dev pairs come out of the training pairs (whole prompts), and their accuracy is reported per source.
        Assert.True(result.DevPairs > 0 && result.TrainPairs + result.DevPairs + result.HeldOutPairs == 300, $"{result.TrainPairs} + {result.DevPairs} + {result.HeldOutPairs}");
        Assert.InRange(result.DevAccuracy, 0, 1);
        Assert.Equal(result.DevPairs, Assert.Single(result.DevBySource).Pairs);

        using var rm = LearnedRewardModel.Load(outDir);
        Assert.Equal(RewardLikelihood.Reference, rm.Likelihood);
        using var start = ModelBundle.Load(model).Model;
        var startWeights = start.state_dict();
        var saved = rm.state_dict();
        // The reference half is the starting model, bit for bit; the backbone moved; the reference is not trained.
        Assert.All(startWeights, kv => Assert.True(kv.Value.allclose(saved["reference." + kv.Key], 0, 0), kv.Key));
        Assert.Contains(startWeights, kv => !kv.Value.allclose(saved["backbone." + kv.Key], 0, 0));
        var trainable = rm.TrainableParameters().ToHashSet();
        Assert.DoesNotContain(rm.named_parameters(), p => p.name.StartsWith("reference.", StringComparison.Ordinal) && trainable.Contains(p.parameter));
    }

    [Fact]
    public void Off_topic_pairs_reject_a_reply_that_is_wrong_for_this_prompt_only()
    {
        var pairs = CurriculumComparisons.Build(seed: 3, count: 400, offTopicShare: 0.5);
        var offTopic = pairs.Where(p => p.Source == "off_topic").ToList();
        Assert.InRange(offTopic.Count, 150, 250);
        Assert.Contains(offTopic, p => p.Split == Split.Eval);
        Assert.All(offTopic, p =>
        {
            Assert.NotEqual(p.Chosen, p.Rejected);
            if (SafetyFamily.IsRefusal(p.Chosen)) Assert.False(SafetyFamily.IsRefusal(p.Rejected));
            if (KnowledgeFamily.SaysDontKnow(p.Chosen)) Assert.False(KnowledgeFamily.SaysDontKnow(p.Rejected));
        });
        Assert.Throws<UserError>(() => CurriculumComparisons.Build(seed: 3, count: 400, offTopicShare: 1.5));
    }

    [Fact]
    public void A_language_model_directory_is_not_a_reward_model()
    {
        var e = Assert.Throws<UserError>(() => LearnedRewardModel.Load(TinyRun.Create()));
        Assert.Contains("rm train", e.Message);
    }
}
