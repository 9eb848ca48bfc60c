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
/// Resolves <c>--model DIR</c> to a model. The model subsystem registers its loader at start-up;
/// evaluation itself knows nothing about checkpoints.
/// </summary>
public static class CompletionModels
{
    static Func<string, ICompletionModel>? _loader;

    /// <summary>Sets the loader used for every <c>--model DIR</c>; null removes it.</summary>
    public static void RegisterLoader(Func<string, ICompletionModel>? loader) => _loader = loader;

    public static bool HasLoader => _loader is not null;

    public static ICompletionModel Load(string directory)
    {
        if (_loader is null)
            throw new UserError("No model loader is registered in this build, so --model cannot be used yet; score existing samples with --samples FILE instead.");
        if (!Directory.Exists(directory))
            throw new UserError($"Model directory '{directory}' does not exist; pass a trained model's directory to --model.");
        return _loader(directory);
    }
}
