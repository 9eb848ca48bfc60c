using Gpt4Sharp.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// PPO's actor-critic: the language model being trained plus a small value head (one linear
/// layer) on its final hidden states, so one forward pass gives both the next-token logits and
/// the value of every prefix. The trunk is shared; the value head is training-only state and
/// the saved checkpoint is the plain language model.
/// </summary>
public sealed class PolicyWithValue : nn.Module
{
#pragma warning disable IDE1006 // state_dict names
    readonly GptModel policy;
    readonly Linear value_head;
#pragma warning restore IDE1006

    public PolicyWithValue(GptModel policy) : base(nameof(PolicyWithValue))
    {
        this.policy = policy;
        value_head = nn.Linear(policy.Config.DModel, 1);
        RegisterComponents();
        using (torch.no_grad())
        {
            // Values start at 0 so the first value loss is about the returns, not a random head.
            value_head.weight!.zero_();
            value_head.bias!.zero_();
        }
        value_head.to(policy.Device, policy.DType);
    }

    public GptModel Policy => policy;

    /// <summary>(logits [B, T, V], values [B, T]) for token ids [B, T].</summary>
    public (Tensor Logits, Tensor Values) Forward(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = policy.Hidden(tokens);
        var logits = policy.Head(hidden).to(ScalarType.Float32);
        var values = value_head.forward(hidden).squeeze(-1).to(ScalarType.Float32);
        return (logits.MoveToOuterDisposeScope(), values.MoveToOuterDisposeScope());
    }
}
