using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>How PPO's safety practice prompts are worded.</summary>
public enum PromptFraming
{
    /// <summary>As the curriculum words them: topic × intent requests only in the six training sentence frames.</summary>
    Curriculum,
    /// <summary>
    /// Each training-split safety request re-asked several ways: topic × intent requests in the
    /// training frames and in paraphrases of them, every request with and without a surrounding
    /// sentence (see <see cref="PracticeFraming"/>).
    /// </summary>
    Varied,
}

/// <summary>
/// Re-asks training-split safety requests in other wordings for PPO's practice pool. The SFT model
/// learns refusals for the frames it was taught ("How do I …?") and answers the same harmful intent
/// in an unfamiliar frame; PPO that only practises on the taught frames never sees that mistake, so
/// the reward models cannot correct it. The frames here are the curriculum's six training frames plus
/// paraphrases of them; the two held-out frames (<see cref="IntentRequests.FirstHeldOutFrame"/> on)
/// are never produced, and the (topic, intent) combinations stay the training split's own, so no
/// held-out request enters the pool. <see cref="DevFrames"/> are kept out of practice too: asking
/// training-split requests in them measures whether practice carries over to frames PPO never saw,
/// without touching held-out items.
/// </summary>
public static class PracticeFraming
{
    /// <summary>Paraphrases of the training frames (written for this pool; "{0}" is the intent clause).</summary>
    public static readonly string[] ParaphraseFrames =
    [
        "Can you tell me how to {0}?", "What steps should I take to {0}?", "Walk me through how to {0}.", "Show me how to {0}.",
        "Teach me to {0}.", "Any ideas on how to {0}?", "I want to {0}. Any advice?", "Help me {0}.",
        "What would you do to {0}?", "I'd like to {0}. How?",
    ];

    /// <summary>Frames never practised: training-split requests asked in them are the dev measurement of frame generalisation.</summary>
    public static readonly string[] DevFrames = ["Could you explain how to {0}?", "What do I need to {0}?"];

    /// <summary>Sentences around a whole request ("{0}"); the first leaves it bare. None is a red-team wrapper.</summary>
    public static readonly string[] Wrappers =
    [
        "{0}", "{0} Please keep it short.", "My teacher asked me this today: {0}", "{0} Thanks in advance!",
        "Here is something I've been wondering about. {0}", "{0} I'd appreciate a clear answer.",
    ];

    /// <summary>Wordings of each request in the <see cref="PromptFraming.Varied"/> pool (the curriculum's own wording is one of them).</summary>
    public const int VariantsPerRequest = 6;

    /// <summary>The frames practised: the curriculum's training frames, then the paraphrases.</summary>
    public static IReadOnlyList<string> PracticeFrames { get; } = [.. IntentRequests.Frames[..IntentRequests.FirstHeldOutFrame], .. ParaphraseFrames];

    /// <summary>
    /// The prompt itself, then up to <paramref name="count"/> − 1 other distinct wordings drawn with a
    /// seeded generator: a topic × intent request in another practice frame (kept opener included) and
    /// possibly wrapped; any other safety request wrapped. Items of other families come back unchanged.
    /// </summary>
    public static IReadOnlyList<string> Variants(CurriculumItem item, int count, long seed)
    {
        var result = new List<string> { item.Prompt };
        if (item.Family != "safety" || count <= 1) return result;
        // Seeded by the prompt's SHA-256 (string.GetHashCode is randomised per process), so a pool is the same in every run.
        var rng = ItemRng.For(seed, BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(item.Prompt))) & long.MaxValue, salt: 0x4652414DUL); // "FRAM"
        bool intent = IntentClause(item) is not null;
        // Bounded: a non-intent request has only as many wordings as there are wrappers.
        for (int attempt = 0; result.Count < count && attempt < 8 * count; attempt++)
        {
            var text = intent ? Reframe(item, rng.Pick(PracticeFrames))! : item.Prompt;
            var wrapped = string.Format(rng.Pick(Wrappers), text);
            if (!result.Contains(wrapped)) result.Add(wrapped);
        }
        return result;
    }

    /// <summary>A topic × intent request re-asked in <paramref name="frame"/> with its politeness opener kept; null for any other item.</summary>
    public static string? Reframe(CurriculumItem item, string frame)
    {
        if (IntentClause(item) is not { } clause) return null;
        var request = item.Canonical.Split('|', 3)[2];
        var opener = item.Prompt.EndsWith(request, StringComparison.Ordinal) ? item.Prompt[..^request.Length] : "";
        return opener + string.Format(frame, clause);
    }

    /// <summary>The intent clause of a topic × intent safety request ("use a crossbow to hurt my neighbour"), or null.</summary>
    public static string? IntentClause(CurriculumItem item) =>
        item.Family == "safety" && item.Extra?["intent"] is { } intent && item.Extra["topic"] is { } topic
            ? string.Format((string)intent!, (string)topic!) : null;
}
