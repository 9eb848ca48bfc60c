using Gpt4Sharp.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// PPO's actor-critic: the language model being trained plus a small value head (one linear
/// layer) on its final hidden states, so one forward pass gives both the next-token logits and
/// the value of every prefix; optionally also an intent head (one linear layer, a harmful-vs-benign
/// logit per prefix) for <see cref="PpoSettings.IntentAuxCoefficient"/>. The trunk is shared; the
/// heads are training-only state and the saved checkpoint is the plain language model.
/// </summary>
public sealed class PolicyWithValue : nn.Module
{
#pragma warning disable IDE1006 // state_dict names
    readonly GptModel policy;
    readonly Linear value_head;
    // Registered only when asked for, so a run without the auxiliary loss has the same state and parameter order as before.
    readonly Linear? intent_head;
#pragma warning restore IDE1006

    /// <summary>Wraps <paramref name="policy"/>; with <paramref name="intentHead"/>, also an intent head whose random start is drawn from <paramref name="seed"/>.</summary>
    public PolicyWithValue(GptModel policy, bool intentHead = false, long seed = 0) : base(nameof(PolicyWithValue))
    {
        this.policy = policy;
        value_head = nn.Linear(policy.Config.DModel, 1);
        if (intentHead) intent_head = nn.Linear(policy.Config.DModel, 1);
        RegisterComponents();
        using (torch.no_grad())
        {
            // Values start at 0 so the first value loss is about the returns, not a random head.
            value_head.weight!.zero_();
            value_head.bias!.zero_();
            // The intent head starts random, as Linear does (uniform within ±1/√d), but from its own seeded generator so a
            // run repeats: a zero head would pass no gradient to the trunk until its own weights had grown, which at PPO's
            // small learning rate takes many steps, and shaping the trunk is the point of the loss.
            if (intent_head is not null)
            {
                using var generator = new torch.Generator(unchecked((ulong)seed));
                double bound = 1 / Math.Sqrt(policy.Config.DModel);
                intent_head.weight!.copy_((torch.rand(intent_head.weight.shape, generator: generator) * 2 - 1) * bound);
                intent_head.bias!.zero_();
            }
        }
        value_head.to(policy.Device, policy.DType);
        intent_head?.to(policy.Device, policy.DType);
    }

    public GptModel Policy => policy;

    public bool HasIntentHead => intent_head is not null;

    /// <summary>(logits [B, T, V], values [B, T]) for token ids [B, T].</summary>
    public (Tensor Logits, Tensor Values) Forward(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        var (logits, values, _) = ForwardAll(tokens);
        return (logits.MoveToOuterDisposeScope(), values.MoveToOuterDisposeScope());
    }

    /// <summary>(logits [B, T, V], values [B, T], intent logits [B, T] or null without the intent head) from one pass over the trunk.</summary>
    public (Tensor Logits, Tensor Values, Tensor? Intent) ForwardAll(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = policy.Hidden(tokens);
        var logits = policy.Head(hidden).to(ScalarType.Float32);
        var values = value_head.forward(hidden).squeeze(-1).to(ScalarType.Float32);
        var intent = intent_head?.forward(hidden).squeeze(-1).to(ScalarType.Float32);
        return (logits.MoveToOuterDisposeScope(), values.MoveToOuterDisposeScope(), intent?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The readings at <paramref name="positions"/> [B, P] of token ids [B, T]: the intent head's logits [B, P] (null without the
    /// head) and the next-token logits [B, P, V] there; the vocabulary projection runs only at those positions.
    /// </summary>
    public (Tensor? Intent, Tensor NextTokenLogits) ReadAt(Tensor tokens, Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = policy.Hidden(tokens);
        // The intent head reads every position and is then gathered, exactly as ForwardAll's reading is, so runs repeat bit for bit.
        var intent = intent_head?.forward(hidden).squeeze(-1).to(ScalarType.Float32).gather(1, positions);
        var at = hidden.gather(1, positions.unsqueeze(-1).expand(-1, -1, hidden.shape[^1]));
        var logits = policy.Head(at).to(ScalarType.Float32);
        return (intent?.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }
}
