using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Code;
using Gpt4Sharp.Evaluation.Code;
using Gpt4Sharp.Evaluation.Sandbox;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;

namespace Gpt4Sharp.Scaling;

/// <summary>Per-problem results of one model on the code tier, and the metric derived from them.</summary>
public sealed record CodeTierScore(int Problems, int SamplesPerProblem, int Passed, double MeanLogPassRate, double MeanPassRate, IReadOnlyList<int> PassesPerProblem);

/// <summary>
/// The GPT-4 report's capability metric: −E[log pass_rate] over the problems of a code tier, where
/// a problem's pass rate is estimated from n sampled completions executed in the sandbox. A
/// problem with c passes of n gets the add-one (Laplace) estimate (c + 1) / (n + 2), so a problem
/// no sample solved still has a finite log and the metric is defined for the tiniest model
/// (its ceiling is log(n + 2)). Lower is better.
/// </summary>
public static class CodePassRate
{
    /// <summary>Held-out (eval-split) problems of one tier of the built-in code family, in HumanEval form.</summary>
    public static IReadOnlyList<CodeProblem> Problems(string tier, int count, long seed)
    {
        int level = Array.IndexOf(CodeFamily.TierNames, tier) + 1;
        if (level == 0) throw new UserError($"Unknown code tier '{tier}'; use one of {string.Join(", ", CodeFamily.TierNames)}.");
        if (count < 1) throw new UserError($"The number of code problems must be positive (got {count}).");
        var mixture = new Mixture { Seed = seed, Count = count * 40, Split = Split.Eval, Weights = new() { ["code"] = 1 } };
        return mixture.Items().Where(x => x.Item.Difficulty == level)
            .DistinctBy(x => x.Item.Canonical)
            .Take(count)
            .Select(x => CodeFamily.ToHumanEval(x.Item) is var t ? new CodeProblem(t.TaskId, t.Prompt, t.CanonicalSolution, t.Test, t.EntryPoint, tier) : null!)
            .ToList();
    }

    /// <summary>
    /// Samples <paramref name="samplesPerProblem"/> completions of each problem in one batch, runs
    /// each distinct program once in the sandbox, and scores the tier.
    /// </summary>
    public static async Task<CodeTierScore> MeasureAsync(GptModel model, ITokenizer tokenizer, IReadOnlyList<CodeProblem> problems,
        int samplesPerProblem, double temperature, int maxNewTokens, long seed, PythonSandbox sandbox, int workers, CancellationToken cancel = default)
    {
        var (samples, results) = await SampleAndRunAsync(model, tokenizer, problems, samplesPerProblem, temperature, maxNewTokens, seed, sandbox, workers, cancel: cancel);
        var passes = problems.Select(p => samples.Zip(results).Count(x => x.First.TaskId == p.TaskId && x.Second.Passed)).ToList();
        return Score(passes, samplesPerProblem);
    }

    /// <summary>
    /// <paramref name="samplesPerProblem"/> completions of each problem, sampled in one batch per
    /// problem (seed + problem index), and every sample's sandbox verdict. Small models repeat
    /// themselves, so each distinct (problem, completion) runs once and its verdict counts for
    /// every sample that wrote it.
    /// </summary>
    public static async Task<(IReadOnlyList<CodeSample> Samples, IReadOnlyList<SandboxResult> Results)> SampleAndRunAsync(
        GptModel model, ITokenizer tokenizer, IReadOnlyList<CodeProblem> problems, int samplesPerProblem, double temperature, int maxNewTokens,
        long seed, PythonSandbox sandbox, int workers, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        var stop = tokenizer.SpecialTokenId(SpecialTokens.EndOfText) is { } eot ? new[] { eot } : [];
        var samples = new List<CodeSample>();
        for (int i = 0; i < problems.Count; i++)
        {
            var problem = problems[i];
            var options = new SamplingOptions
            {
                MaxNewTokens = maxNewTokens, Temperature = temperature, Seed = seed + i, StopTokens = stop, Stop = CodeGeneration.StopSequences,
            };
            // The whole prompt, final newline included: this BPE merges `"""` with the newline after
            // it, and a prompt cut before the newline ends on the token that opens a docstring.
            var completions = ParallelSampler.Sample(model, tokenizer, tokenizer.Encode(problem.Prompt), samplesPerProblem, options, cancel);
            samples.AddRange(completions.Select(c => new CodeSample(problem.TaskId, c.Text, new System.Text.Json.Nodes.JsonObject())));
            progress?.Report((i + 1, problems.Count));
        }

        var distinct = samples.DistinctBy(s => (s.TaskId, s.Completion)).ToList();
        var (results, _) = await CodeHarness.EvaluateAsync(problems, distinct, [1], sandbox, workers, cancellationToken: cancel);
        var verdict = distinct.Zip(results).ToDictionary(x => (x.First.TaskId, x.First.Completion), x => x.Second);
        return (samples, samples.Select(s => verdict[(s.TaskId, s.Completion)]).ToList());
    }

    /// <summary>
    /// The continuous code metric: mean over problems of −log P(reference solution | prompt) in nats,
    /// the prompt and solution tokenised separately as a sampled completion would be. Sampling that
    /// exact program at temperature 1 is one way to pass, so per problem this bounds −log(pass rate at
    /// temperature 1) from above; unlike a pass count it moves from the first training step, which is
    /// what a law fitted on models too small to solve anything needs.
    /// </summary>
    public static double ReferenceNll(GptModel model, ITokenizer tokenizer, IReadOnlyList<CodeProblem> problems)
    {
        if (problems.Count == 0) throw new ArgumentException("no problems to score");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        bool training = model.training;
        model.eval();
        double total = 0;
        foreach (var problem in problems)
        {
            var prompt = tokenizer.Encode(problem.Prompt);
            var solution = tokenizer.Encode(problem.CanonicalSolution ?? throw new ArgumentException($"{problem.TaskId} has no reference solution"));
            var ids = prompt.Concat(solution).ToArray();
            // Keep the end when a long problem exceeds the context: every solution token is still scored.
            int start = Math.Max(0, ids.Length - 1 - model.Config.ContextLength);
            var input = ids[start..^1].Select(i => (long)i).ToArray();
            var target = Enumerable.Range(start + 1, input.Length).Select(i => i >= prompt.Length ? (long)ids[i] : -100L).ToArray();
            var logits = model.Forward(torch.tensor(input, device: model.Device).unsqueeze(0));
            total += GptModel.Loss(logits, torch.tensor(target, device: model.Device).unsqueeze(0)).item<float>() * target.Count(t => t >= 0);
        }
        if (training) model.train();
        return total / problems.Count;
    }

    /// <summary>−mean log((c + 1) / (n + 2)) and the plain mean pass rate, from passes per problem.</summary>
    public static CodeTierScore Score(IReadOnlyList<int> passesPerProblem, int samplesPerProblem)
    {
        if (passesPerProblem.Count == 0) throw new ArgumentException("no problems to score");
        double n = samplesPerProblem;
        return new CodeTierScore(passesPerProblem.Count, samplesPerProblem, passesPerProblem.Sum(),
            -passesPerProblem.Average(c => Math.Log((c + 1) / (n + 2))),
            passesPerProblem.Average(c => c / n), passesPerProblem);
    }
}
