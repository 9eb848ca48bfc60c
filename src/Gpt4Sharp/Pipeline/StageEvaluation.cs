using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Alignment.Hallucination;
using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.Rbrm;
using Gpt4Sharp.Alignment.RedTeam;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Evaluation.Code;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Reasoning;
using Gpt4Sharp.Reporting;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Scaling;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Pipeline;

/// <summary>
/// The evaluation every stage's model gets, so the report can show what each stage changed:
/// pass@k on held-out code by tier (in the sandbox), reasoning answered directly, with a chain
/// of thought and with a self-consistency vote, the alignment probe's safety and closed-domain
/// hallucination rates, the rate of answering questions about entities that do not exist, and the share of
/// questions about entities that do exist which the model declines (the price of a low hallucination rate).
/// </summary>
static class StageEvaluation
{
    public static JsonObject Run(string name, string modelDirectory, EvaluationSettings s, string device, IPipelineObserver observer, CancellationToken cancel)
    {
        using var bundle = ModelBundle.Load(modelDirectory, TorchRuntime.ParseDevice(device), observer.Log);
        var code = Code(bundle, s, observer.Items($"{name}: code problems", s.CodeTiers.Count * s.CodeProblemsPerTier), cancel);
        var reasoning = Reasoning(bundle, s, observer, name, cancel);
        var rates = AlignmentProbe.Measure(bundle.Model, bundle.Tokenizer, s.Seed, new ProbeSizes(s.SafetyPrompts, s.PassagePrompts, s.RedTeamRequests),
            s.ChatMaxNewTokens, rbrm: s.RedTeamRequests > 0 ? RuleBasedRewardModel.Load() : null, cancel: cancel);
        var respond = ChatResponders.Greedy(bundle, s.ChatMaxNewTokens);
        var hallucination = HallucinationRate.Measure(respond, s.HallucinationQuestions, s.Seed, cancel: cancel);
        var answerable = s.AnswerableQuestions > 0 ? HallucinationRate.MeasureAnswerable(respond, s.AnswerableQuestions, s.Seed, cancel: cancel) : null;
        observer.Log($"{name}: pass@1 {code.PassAtK.GetValueOrDefault("pass@1"):P1}; reasoning direct {reasoning.Direct:P1}, chain of thought {reasoning.Cot:P1}, voted {reasoning.Voted:P1}; " +
            $"{PpoReport.Describe(rates)}; unknown-entity hallucination {hallucination.Rate:P1}" +
            (answerable is null ? "." : $"; answerable questions declined {answerable.DeclineRate:P1}, answered right {answerable.Right} of {answerable.Questions}."));
        return new JsonObject
        {
            ["model"] = name,
            ["directory"] = modelDirectory,
            ["code"] = new JsonObject
            {
                ["pass_at_k"] = JsonSerializer.SerializeToNode(code.PassAtK, Results.Json),
                ["tiers"] = JsonSerializer.SerializeToNode(code.Tiers, Results.Json),
                ["samples"] = code.Samples, ["isolation"] = code.Isolation,
            },
            ["reasoning"] = new JsonObject
            {
                ["items"] = reasoning.Items, ["direct"] = reasoning.Direct, ["chain_of_thought"] = reasoning.Cot,
                ["voted"] = reasoning.Voted, ["paths"] = s.ReasoningSamples,
            },
            ["safety"] = JsonSerializer.SerializeToNode(rates, Results.Json),
            ["unknown_entity_hallucination"] = hallucination.Rate,
            ["answerable"] = answerable is null ? null : new JsonObject
            {
                ["questions"] = answerable.Questions, ["declined"] = answerable.Declined, ["right"] = answerable.Right, ["decline_rate"] = answerable.DeclineRate,
            },
        };
    }

    /// <summary>n completions of each held-out problem of each tier, run in the sandbox and scored by pass@k and tier.</summary>
    static CodeEvalSummary Code(ModelBundle bundle, EvaluationSettings s, IProgress<(int Done, int Total)> progress, CancellationToken cancel)
    {
        var problems = s.CodeTiers.SelectMany(tier => CodePassRate.Problems(tier, s.CodeProblemsPerTier, s.Seed)).ToList();
        var sandbox = new PythonSandbox();
        var clock = Stopwatch.StartNew();
        var (samples, results) = CodePassRate.SampleAndRunAsync(bundle.Model, bundle.Tokenizer, problems, s.CodeSamples, s.CodeTemperature, s.CodeMaxNewTokens,
            s.Seed, sandbox, workers: 2, progress, cancel).GetAwaiter().GetResult();
        return CodeHarness.Summarize(problems, samples, results, s.CodeK.Where(k => k <= s.CodeSamples), sandbox.Isolation, clock.Elapsed.TotalSeconds);
    }

    sealed record ReasoningScores(int Items, double Direct, double Cot, double Voted);

    /// <summary>Held-out multi-step items answered directly (greedy), with "Let's think step by step" (greedy) and by a vote over sampled chains.</summary>
    static ReasoningScores Reasoning(ModelBundle bundle, EvaluationSettings s, IPipelineObserver observer, string name, CancellationToken cancel)
    {
        var items = ReasoningEvaluation.HeldOut(s.ReasoningFamily, s.Seed, s.ReasoningItems, s.ReasoningMinSteps);
        var sampler = new ModelPathSampler(bundle, s.ReasoningMaxNewTokens);
        var direct = ReasoningEvaluation.Run(sampler, items, new ReasoningEvalOptions { Format = PromptFormat.ZeroShot, Samples = 1, Seed = s.Seed },
            progress: observer.Items($"{name}: reasoning, direct", items.Count), cancel: cancel);
        var cot = ReasoningEvaluation.Run(sampler, items, new ReasoningEvalOptions { Format = PromptFormat.ZeroShotCot, Samples = s.ReasoningSamples, Seed = s.Seed },
            progress: observer.Items($"{name}: reasoning, chain of thought", items.Count), cancel: cancel);
        return new ReasoningScores(items.Count, direct.GreedyAccuracy, cot.GreedyAccuracy, cot.VotedAccuracyBySamples[cot.VotedAccuracyBySamples.Keys.Max()]);
    }

    /// <summary>Tokens per Han character of the pipeline's tokenizer beside GPT-4's (cl100k_base) and GPT-4o's (o200k_base), on Chinese text.</summary>
    public static JsonArray ChineseTokens(string pretrainDirectory, EvaluationSettings s)
    {
        string text = s.ChineseText is { } path
            ? File.Exists(path) ? File.ReadAllText(path) : throw new UserError($"The Chinese text file {path} does not exist; give an existing file or leave it unset for the built-in text.")
            : BuiltInChinese(s.Seed);
        var rows = new JsonArray();
        var pipelineTokenizer = Path.Combine(pretrainDirectory, ModelBundle.TokenizerDirectory);
        foreach (var (label, tokenizer) in new[] { ("pipeline BPE", pipelineTokenizer), ("cl100k_base (GPT-4)", "cl100k_base"), ("o200k_base (GPT-4o)", "o200k_base") })
        {
            var count = TokenCount.Measure(Tokenizers.Load(tokenizer), text);
            rows.Add(new JsonObject
            {
                ["tokenizer"] = label, ["tokens"] = count.Tokens, ["han_characters"] = count.HanCharacters,
                ["tokens_per_han_character"] = count.TokensPerHanCharacter,
            });
        }
        return rows;
    }

    /// <summary>The Chinese sides of held-out bilingual curriculum items.</summary>
    static string BuiltInChinese(long seed)
    {
        var text = new StringBuilder();
        foreach (var item in CurriculumRegistry.Get("bilingual").Generate(seed, Split.Eval, 400))
            text.AppendLine(item.Prompt).AppendLine(item.Response);
        return text.ToString();
    }
}
