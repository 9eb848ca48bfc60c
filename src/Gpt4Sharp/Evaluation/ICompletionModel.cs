namespace Gpt4Sharp.Evaluation;

/// <summary>
/// What evaluation needs from a language model: sampled completions and the log-likelihood
/// of a continuation. The generation subsystem implements it over the real model; tests use fakes.
/// </summary>
public interface ICompletionModel
{
    /// <summary><paramref name="n"/> sampled completions of <paramref name="prompt"/>, each cut before the first stop string.</summary>
    Task<IReadOnlyList<string>> CompleteAsync(string prompt, int n, double temperature, int maxTokens, IReadOnlyList<string> stop, CancellationToken cancellationToken);

    /// <summary>Sum of the log-probabilities of the continuation's tokens given the context (natural log).</summary>
    double LogLikelihood(string context, string continuation);
}

/// <summary>
/// Resolves <c>--model DIR</c> to a model: a Gpt4Sharp run or checkpoint directory, unless a
/// test has registered a stand-in with <see cref="RegisterLoader"/>.
/// </summary>
public static class CompletionModels
{
    static Func<string, ICompletionModel>? _override;

    /// <summary>Replaces checkpoint loading (tests use scripted models); null restores it.</summary>
    public static void RegisterLoader(Func<string, ICompletionModel>? loader) => _override = loader;

    public static ICompletionModel Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new UserError($"Model directory '{directory}' does not exist; pass a trained model's directory to --model.");
        return _override is { } loader ? loader(directory) : new GptCompletionModel(Checkpoints.ModelBundle.Load(directory));
    }
}
