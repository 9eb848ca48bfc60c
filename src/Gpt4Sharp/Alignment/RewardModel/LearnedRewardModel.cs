using System.Text.Json.Nodes;
using Gpt4Sharp.Checkpoints;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt4Sharp.Alignment.RewardModel;

/// <summary>
/// A learned reward model: the decoder stack of a (fine-tuned) <see cref="GptModel"/> with a
/// scalar head reading the final hidden state of the last real token of "user prompt +
/// assistant reply + end of turn" in the chat template. Rewards are normalised with the mean
/// and standard deviation measured over a reference set after training, stored in config.json
/// with the weights, so a score of 0 means "an average reply".
/// With <see cref="RewardLikelihood.Reply"/>, the raw reward also adds a learned multiple of the
/// reply's log-likelihood under the backbone's own language-model head (summed over the reply's
/// tokens, end of turn included). A scalar head on one hidden state does not learn, from a few
/// thousand pairs, to read out facts the backbone has memorised; the likelihood term hands that
/// knowledge to the reward model from step 0 (at scale 1, the ranking of the likelihood baseline).
/// With <see cref="RewardLikelihood.Reference"/>, that likelihood comes from a frozen copy of the
/// starting model, kept inside the reward model (saved as reference.*), so reward training cannot
/// wash out what the backbone knew.
/// With <see cref="RewardLikelihood.GatedReference"/>, that frozen likelihood is multiplied by a gate
/// the model learns (a sigmoid of a second linear read of the same hidden state), so the reward can use
/// the starting model's likelihood where it is evidence (which value a fact has) and ignore it where it
/// is not (a stock refusal is likely anywhere).
/// </summary>
public sealed class LearnedRewardModel : nn.Module
{
    public const string MeanKey = "gpt4sharp_reward_mean";
    public const string StdKey = "gpt4sharp_reward_std";
    public const string LikelihoodKey = "gpt4sharp_reward_likelihood";

#pragma warning disable IDE1006 // state_dict names: backbone.model.*, score.weight, likelihood_scale, reference.model.*
    readonly GptModel backbone;
    readonly GptModel? reference;
    readonly Linear score;
    readonly Parameter? likelihood_scale;
    readonly Linear? likelihood_gate;
#pragma warning restore IDE1006
    readonly long assistantTag, userTag, endOfTurn;

    public ITokenizer Tokenizer { get; }
    public double Mean { get; set; }
    public double Std { get; set; } = 1.0;

    /// <param name="reference">The frozen language model whose likelihood <see cref="RewardLikelihood.Reference"/> adds (required for it, ignored otherwise).</param>
    public LearnedRewardModel(GptModel backbone, ITokenizer tokenizer, long seed = 1, RewardLikelihood likelihood = RewardLikelihood.None, GptModel? reference = null) : base(nameof(LearnedRewardModel))
    {
        this.backbone = backbone;
        if (likelihood.UsesReference())
        {
            this.reference = reference ?? throw new ArgumentException("The reference likelihood needs a frozen reference model.", nameof(reference));
            foreach (var p in reference.parameters()) p.requires_grad = false;
        }
        Tokenizer = tokenizer;
        Likelihood = likelihood;
        score = nn.Linear(backbone.Config.DModel, 1, hasBias: false);
        if (likelihood != RewardLikelihood.None) likelihood_scale = new Parameter(torch.ones(1));
        if (likelihood == RewardLikelihood.GatedReference) likelihood_gate = nn.Linear(backbone.Config.DModel, 1, hasBias: true);
        assistantTag = tokenizer.SpecialTokenId(SpecialTokens.Assistant)
            ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {SpecialTokens.Assistant} token; start the reward model from a model fine-tuned with `gpt4sharp sft`.");
        userTag = tokenizer.SpecialTokenId(SpecialTokens.User) ?? -1;
        endOfTurn = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn) ?? -1;
        RegisterComponents();
        using var noGrad = torch.no_grad();
        using (var generator = new Generator((ulong)seed)) score.weight!.normal_(0, 1.0 / Math.Sqrt(backbone.Config.DModel + 1), generator);
        score.to(backbone.Device, backbone.DType);
        if (likelihood_gate is not null)
        {
            // Starts half open on every reply; training decides where the likelihood counts.
            using (var generator = new Generator((ulong)seed + 1)) likelihood_gate.weight!.normal_(0, 1.0 / Math.Sqrt(backbone.Config.DModel + 1), generator);
            likelihood_gate.bias!.zero_();
            likelihood_gate.to(backbone.Device, backbone.DType);
        }
        likelihood_scale?.to(backbone.Device);
    }

    /// <summary>The parameters reward training updates (the frozen reference's are left out).</summary>
    public IEnumerable<Parameter> TrainableParameters() => parameters().Where(p => p.requires_grad);

    /// <summary>Whether the raw reward adds the reply's log-likelihood (saved in config.json).</summary>
    public RewardLikelihood Likelihood { get; }

    public GptConfig Config => backbone.Config;
    public Device Device => backbone.Device;

    /// <summary>Token ids the model scores for one (prompt, reply); a long prompt is cut from the left so the reply's end stays in context.</summary>
    public int[] Encode(string prompt, string reply)
    {
        var ids = ChatTemplate.Encode(Tokenizer, [new ChatMessage("user", prompt), new ChatMessage("assistant", reply)]).Ids;
        return ids.Length <= Config.ContextLength ? ids : ids[^Config.ContextLength..];
    }

    /// <summary>Raw (unnormalised) rewards [B] for right-padded token ids [B, T] whose real lengths are <paramref name="lengths"/> [B].</summary>
    public Tensor RawScores(Tensor tokens, Tensor lengths)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = backbone.Hidden(tokens);
        var last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);
        var final = hidden.gather(1, last).squeeze(1);
        var head = score.forward(final).squeeze(-1).to(ScalarType.Float32);
        if (likelihood_scale is not null && reference is not null)
        {
            Tensor frozen;
            using (torch.no_grad())
            {
                reference.eval();
                frozen = ReplyLogLikelihood(reference, reference.Hidden(tokens), tokens, lengths);
            }
            var weight = likelihood_gate is null ? likelihood_scale : likelihood_scale * torch.sigmoid(likelihood_gate.forward(final).squeeze(-1).to(ScalarType.Float32));
            head = head + weight * frozen;
        }
        else if (likelihood_scale is not null)
        {
            var likelihood = ReplyLogLikelihood(backbone, hidden, tokens, lengths);
            if (Likelihood == RewardLikelihood.PointwiseMutualInformation)
            {
                var (bare, bareLengths) = WithoutPrompt(tokens, lengths);
                likelihood = likelihood - ReplyLogLikelihood(backbone, backbone.Hidden(bare), bare, bareLengths);
            }
            head = head + likelihood_scale * likelihood;
        }
        return head.MoveToOuterDisposeScope();
    }

    /// <summary>The same sequences with the user's words taken out (the chat tags kept), right-padded again.</summary>
    (Tensor Tokens, Tensor Lengths) WithoutPrompt(Tensor tokens, Tensor lengths)
    {
        var rows = tokens.cpu().data<long>().ToArray();
        var lens = lengths.cpu().data<long>().ToArray();
        int width = (int)tokens.shape[1];
        var bare = new List<int[]>(lens.Length);
        for (int i = 0; i < lens.Length; i++)
        {
            var ids = rows.AsSpan(i * width, (int)lens[i]).ToArray();
            int reply = Array.LastIndexOf(ids, assistantTag);
            int promptEnd = reply > 0 ? Array.LastIndexOf(ids, endOfTurn, reply - 1) : -1;
            int user = Array.IndexOf(ids, userTag);
            if (promptEnd < 0) { bare.Add([.. ids.Select(t => (int)t)]); continue; }
            bare.Add([.. ids[..(user + 1)].Concat(ids[promptEnd..]).Select(t => (int)t)]);
        }
        return Batch(bare);
    }

    /// <summary>Sum of log p(token) over each sequence's reply: the tokens after its last assistant tag, up to its length.</summary>
    Tensor ReplyLogLikelihood(GptModel model, Tensor hidden, Tensor tokens, Tensor lengths)
    {
        var logProbs = model.Head(hidden)[.., ..^1].to(ScalarType.Float32).log_softmax(-1)
            .gather(-1, tokens[.., 1..].unsqueeze(-1)).squeeze(-1);
        // Position t of logProbs predicts token t + 1.
        var positions = torch.arange(tokens.shape[1] - 1, device: tokens.device).unsqueeze(0);
        var tag = (tokens == assistantTag).to(ScalarType.Int64) * torch.arange(tokens.shape[1], device: tokens.device).unsqueeze(0);
        var replyStart = tag.amax([1]).unsqueeze(1);
        var inReply = ((positions >= replyStart) & (positions < (lengths - 1).unsqueeze(1))).to(ScalarType.Float32);
        return (logProbs * inReply).sum(1);
    }

    /// <summary>
    /// Log-likelihood [B] of each right-padded sequence under the backbone's own language-model
    /// head (before any reward training changes it). Two replies to the same prompt share the
    /// prompt's terms, so comparing these compares how plausible the backbone finds each reply:
    /// a baseline that shows what the backbone already knows.
    /// </summary>
    public Tensor BackboneLogLikelihood(Tensor tokens, Tensor lengths)
    {
        using var scope = torch.NewDisposeScope();
        var logProbs = backbone.Head(backbone.Hidden(tokens))[.., ..^1].to(ScalarType.Float32).log_softmax(-1)
            .gather(-1, tokens[.., 1..].unsqueeze(-1)).squeeze(-1);
        var positions = torch.arange(tokens.shape[1] - 1, device: tokens.device).unsqueeze(0);
        var real = (positions < (lengths - 1).unsqueeze(1)).to(ScalarType.Float32);
        return (logProbs * real).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>Right-pads encoded sequences into (tokens [B, T], lengths [B]) on the model's device.</summary>
    public (Tensor Tokens, Tensor Lengths) Batch(IReadOnlyList<int[]> sequences)
    {
        int width = sequences.Max(s => s.Length);
        var flat = new long[sequences.Count * width];
        for (int i = 0; i < sequences.Count; i++)
            for (int j = 0; j < sequences[i].Length; j++) flat[i * width + j] = sequences[i][j];
        return (torch.tensor(flat, [sequences.Count, width], device: Device),
                torch.tensor(sequences.Select(s => (long)s.Length).ToArray(), device: Device));
    }

    /// <summary>Normalised rewards for (prompt, reply) pairs, computed in batches without gradients.</summary>
    public double[] Score(IReadOnlyList<(string Prompt, string Response)> pairs, int batchSize = 32)
    {
        eval();
        using var noGrad = torch.no_grad();
        var result = new double[pairs.Count];
        for (int start = 0; start < pairs.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var chunk = pairs.Skip(start).Take(batchSize).Select(p => Encode(p.Prompt, p.Response)).ToList();
            var (tokens, lengths) = Batch(chunk);
            var raw = RawScores(tokens, lengths).cpu().data<float>().ToArray();
            for (int i = 0; i < raw.Length; i++) result[start + i] = (raw[i] - Mean) / Std;
        }
        return result;
    }

    /// <summary>config.json: the backbone's Hugging Face config, its tokenizer, and the normalisation.</summary>
    public JsonObject ConfigJson()
    {
        var json = ModelBundle.ConfigJson(Config, Tokenizer);
        json["architectures"] = new JsonArray("LlamaForSequenceClassification");
        json["num_labels"] = 1;
        json[MeanKey] = Mean;
        json[StdKey] = Std;
        json[LikelihoodKey] = Likelihood.ToString();
        return json;
    }

    /// <summary>A fresh reward model on the weights of a run or checkpoint directory from `sft` (or `pretrain`).</summary>
    public static LearnedRewardModel FromLanguageModel(string modelPath, Device device, long seed, Action<string>? warn = null, RewardLikelihood likelihood = RewardLikelihood.None)
    {
        var bundle = ModelBundle.Load(modelPath, device, warn);
        var reference = likelihood.UsesReference() ? ModelBundle.Load(modelPath, device, warn).Model : null;
        return new LearnedRewardModel(bundle.Model, bundle.Tokenizer, seed, likelihood, reference);
    }

    /// <summary>Loads a trained reward model from a run directory of `rm train` (or one of its checkpoints).</summary>
    public static LearnedRewardModel Load(string path, Device? device = null, Action<string>? warn = null)
    {
        var full = Path.GetFullPath(path);
        string dir = File.Exists(Path.Combine(full, CheckpointManifest.FileName)) ? full
            : new CheckpointStore(full).FindLatestValid(warn) ?? throw new UserError($"{path} holds no reward model; give the --out directory of `gpt4sharp rm train`.");
        var json = CheckpointStore.ReadConfigNode(dir);
        if (json[MeanKey] is null || json[StdKey] is null)
            throw new UserError($"{dir} is a language model, not a reward model; train one with `gpt4sharp rm train --model {path}`.");
        // Reward models saved before the likelihood option have no key: head only.
        var likelihood = Enum.TryParse<RewardLikelihood>(json[LikelihoodKey]?.GetValue<string>(), out var l) ? l : RewardLikelihood.None;
        var config = GptConfig.FromHuggingFace(json);
        var model = new LearnedRewardModel(new GptModel(config), LoadTokenizer(dir, json), likelihood: likelihood,
            reference: likelihood.UsesReference() ? new GptModel(config) : null);
        CheckpointStore.Load(dir, model);
        if (device is not null) model.to(device);
        model.Mean = json[MeanKey]!.GetValue<double>();
        model.Std = json[StdKey]!.GetValue<double>();
        model.eval();
        return model;
    }

    // `rm train` copies a directory tokenizer into RUN/tokenizer, as every stage does; tiktoken encodings go by name.
    static ITokenizer LoadTokenizer(string checkpointDir, JsonNode json)
    {
        var reference = json[ModelBundle.TokenizerKey]?.GetValue<string>() ?? ModelBundle.TokenizerDirectory;
        if (Tokenizers.TiktokenEncodings.Contains(reference)) return Tokenizers.Load(reference);
        var runDir = Path.GetDirectoryName(Path.GetDirectoryName(checkpointDir)) ?? checkpointDir;
        var tokenizerDir = Path.Combine(runDir, reference);
        if (!File.Exists(Path.Combine(tokenizerDir, BpeModel.VocabFile)))
            throw new UserError($"The reward model at {checkpointDir} has no tokenizer in {tokenizerDir}; copy the tokenizer of the model it was trained from there.");
        return Tokenizers.Load(tokenizerDir);
    }
}

/// <summary>What the learned reward model adds to its scalar head.</summary>
public enum RewardLikelihood
{
    /// <summary>The head alone.</summary>
    None,
    /// <summary>The head plus a learned multiple (starting at 1) of the reply's summed log-likelihood under the backbone's language-model head.</summary>
    Reply,
    /// <summary>
    /// As <see cref="Reply"/>, minus the reply's log-likelihood with the user's words taken out:
    /// how much the prompt raises the reply's likelihood (pointwise mutual information). A reply
    /// that is likely anywhere (a stock refusal) or unlikely anywhere (a long new answer) gains nothing from it.
    /// </summary>
    PointwiseMutualInformation,
    /// <summary>
    /// The head plus a learned multiple (starting at 1) of the reply's summed log-likelihood under a
    /// frozen copy of the starting model. Unlike <see cref="Reply"/>, reward training does not move the
    /// likelihood, so what the fine-tuned model knows (closed-book facts) stays in the reward.
    /// </summary>
    Reference,
    /// <summary>
    /// As <see cref="Reference"/>, with the frozen likelihood multiplied by a learned gate in (0, 1) read
    /// from the same hidden state as the head: the reward learns for which prompts and replies the starting
    /// model's likelihood is evidence. The starting model ranks closed-book facts well but prefers a stock
    /// refusal to a helpful answer; one global multiple has to take both or neither.
    /// </summary>
    GatedReference,
}

public static class RewardLikelihoodExtensions
{
    /// <summary>Whether the reward model keeps a frozen copy of its starting model for the likelihood.</summary>
    public static bool UsesReference(this RewardLikelihood likelihood) => likelihood is RewardLikelihood.Reference or RewardLikelihood.GatedReference;
}
