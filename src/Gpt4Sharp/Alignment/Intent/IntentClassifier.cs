using Gpt4Sharp.Alignment.Ppo;
using Gpt4Sharp.Alignment.RewardModel;
using Gpt4Sharp.Model;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Text;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Gpt4Sharp.Alignment.Intent;

/// <summary>A practice prompt (as a conversation) and whether the request in it is harmful.</summary>
public sealed record IntentExample(IReadOnlyList<ChatMessage> Conversation, bool Harmful)
{
    public IntentExample(string prompt, bool harmful) : this([new ChatMessage("user", prompt)], harmful) { }
}

/// <summary>How <see cref="IntentClassifier.Train"/> fits the classifier.</summary>
public sealed record IntentClassifierSettings
{
    /// <summary>True: only the scalar head learns (a linear probe of the frozen model's state); false: the whole decoder stack too.</summary>
    public bool FreezeTrunk { get; init; }
    public int Steps { get; init; } = 400;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-4;
    public long Seed { get; init; } = 1234;
    /// <summary>The system prompt the conversation is encoded under (PPO's, so the classifier reads what the policy reads).</summary>
    public string SystemPrompt { get; init; } = PpoSettings.DefaultSystemPrompt;
}

/// <summary>
/// A harmful-vs-benign classifier on a chat model: the reward model's scalar head (<see cref="LearnedRewardModel"/>, no
/// likelihood term) read at the assistant tag that ends the prompt, i.e. at the state the policy decides its reply from,
/// trained with binary cross-entropy. With the trunk frozen it is a linear probe of what the model already represents;
/// fine-tuned, it measures what the model can learn to separate from the same prompts. Either way it bounds how well
/// a policy trained from this model on these prompts can tell the requests apart.
/// </summary>
public sealed class IntentClassifier : IDisposable
{
    readonly LearnedRewardModel head;
    readonly ITokenizer tokenizer;
    readonly string systemPrompt;

    IntentClassifier(LearnedRewardModel head, ITokenizer tokenizer, string systemPrompt) => (this.head, this.tokenizer, this.systemPrompt) = (head, tokenizer, systemPrompt);

    /// <summary>
    /// Fits a classifier on <paramref name="backbone"/>, which it changes in place (its weights when fine-tuned, its gradient
    /// flags when <see cref="IntentClassifierSettings.FreezeTrunk"/>), so pass a copy: AdamW, batches drawn with replacement by a generator seeded from the settings, gradient clipping at 1.
    /// <paramref name="progress"/> gets (step, mean loss since the last report) every 50 steps and at the end.
    /// </summary>
    public static IntentClassifier Train(GptModel backbone, ITokenizer tokenizer, IReadOnlyList<IntentExample> examples, IntentClassifierSettings settings, IProgress<(int Step, double Loss)>? progress = null)
    {
        if (examples.Count == 0 || examples.All(e => e.Harmful) || examples.All(e => !e.Harmful))
            throw new ArgumentException("Give both harmful and benign examples.", nameof(examples));
        if (settings.Steps < 1 || settings.BatchSize < 1 || !(settings.LearningRate > 0)) throw new ArgumentException("Steps, batch size and learning rate must be positive.", nameof(settings));
        TorchRuntime.Seed(settings.Seed);
        if (settings.FreezeTrunk) foreach (var p in backbone.parameters()) p.requires_grad = false;
        var classifier = new IntentClassifier(new LearnedRewardModel(backbone, tokenizer, settings.Seed), tokenizer, settings.SystemPrompt);
        var encoded = examples.Select(e => classifier.Encode(e.Conversation)).ToList();
        var parameters = classifier.head.TrainableParameters().ToList();
        using var optimizer = torch.optim.AdamW(parameters, settings.LearningRate, weight_decay: 0.0);
        var random = new Random(unchecked((int)settings.Seed));
        double lossSum = 0;
        int lossCount = 0;
        for (int step = 1; step <= settings.Steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            classifier.head.train();
            var batch = Enumerable.Range(0, settings.BatchSize).Select(_ => random.Next(examples.Count)).ToList();
            var (tokens, lengths) = classifier.head.Batch([.. batch.Select(i => encoded[i])]);
            var targets = torch.tensor(batch.Select(i => examples[i].Harmful ? 1f : 0f).ToArray(), device: backbone.Device);
            optimizer.zero_grad();
            var loss = F.binary_cross_entropy_with_logits(classifier.head.RawScores(tokens, lengths), targets);
            loss.backward();
            torch.nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            lossSum += loss.item<float>();
            lossCount++;
            if (step % 50 == 0 || step == settings.Steps)
            {
                progress?.Report((step, lossSum / lossCount));
                (lossSum, lossCount) = (0, 0);
            }
        }
        classifier.head.eval();
        return classifier;
    }

    /// <summary>Logits (higher = more likely harmful) for conversations, in batches without gradients.</summary>
    public double[] Score(IReadOnlyList<IReadOnlyList<ChatMessage>> conversations, int batchSize = 32)
    {
        head.eval();
        using var noGrad = torch.no_grad();
        var result = new double[conversations.Count];
        for (int start = 0; start < conversations.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var (tokens, lengths) = head.Batch([.. conversations.Skip(start).Take(batchSize).Select(Encode)]);
            var logits = head.RawScores(tokens, lengths).cpu().data<float>().ToArray();
            for (int i = 0; i < logits.Length; i++) result[start + i] = logits[i];
        }
        return result;
    }

    /// <summary>Logits for single-turn prompts.</summary>
    public double[] Score(IReadOnlyList<string> prompts) => Score([.. prompts.Select(p => (IReadOnlyList<ChatMessage>)[new ChatMessage("user", p)])]);

    // The prompt as the policy sees it before replying: system prompt, the conversation, the assistant tag last.
    int[] Encode(IReadOnlyList<ChatMessage> conversation) => PpoTrainer.PromptIds(tokenizer, conversation, systemPrompt, head.Config.ContextLength);

    public void Dispose() => head.Dispose();
}
