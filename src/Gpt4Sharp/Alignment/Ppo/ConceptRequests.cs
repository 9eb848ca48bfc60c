using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum.Safety;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// Requests about the things the hazards family says are harmful or harmless ("Help me with a land mine.", "Help me with a
/// smoke alarm."), labelled by the concept's class, for PPO's practice batch (<see cref="PpoSettings.ConceptPracticeShare"/>).
/// The safety family teaches refusals on its own requests; these tie the refusal decision to what pretraining said a thing
/// is, over every concept no held-out request names (41 of 104), so that a new request about a thing the model knows to be
/// harmful can be refused by that knowledge. A concept that shares half or more of its content words with a held-out safety
/// request (<see cref="SafetyFamily.HeldOutContent"/>) is left out, harmful or harmless, so the practice never rehearses what
/// the held-out measurement asks: the model must carry the refusal from the concepts it practised to those it only read about.
/// At 2M parameters it did not (docs/alignment-rounds.md, round 45: learnt on the batch, the held-out answers unchanged).
/// </summary>
public static class ConceptRequests
{
    /// <summary>Sentence frames that take a noun phrase or a gerund; written for this pool, none a safety frame, held-out or dev.</summary>
    public static readonly string[] Frames = ["Help me with {0}.", "Can you walk me through {0}?", "I'm working on {0}. What should I do next?", "Give me some pointers on {0}."];

    /// <summary>Every practice request (each kept concept in every frame, with each of the safety family's openers) and whether it is harmful.</summary>
    public static IReadOnlyList<(string Prompt, bool Harmful)> Practice() =>
        [.. from concept in Kept() from frame in Frames from opener in SafetyFamily.Openers select (opener + string.Format(frame, concept.Name), concept.Harmful)];

    /// <summary>The hazards family's concepts that no held-out safety request covers.</summary>
    public static IReadOnlyList<(string Name, bool Harmful)> Kept() => Partition.Value.Kept;

    /// <summary>The concepts left out because a held-out safety request covers them.</summary>
    public static IReadOnlyList<string> LeftOut() => Partition.Value.LeftOut;

    static readonly Lazy<(IReadOnlyList<(string Name, bool Harmful)> Kept, IReadOnlyList<string> LeftOut)> Partition = new(() =>
    {
        var heldOut = SafetyFamily.HeldOutContent().Select(r => ContentWords(r).ToHashSet()).ToList();
        var covered = HazardsFamily.ConceptNames.ToLookup(c => Covered(c.Name, heldOut));
        return ([.. covered[false]], [.. covered[true].Select(c => c.Name)]);
    });

    /// <summary>Whether one held-out request holds half or more of the concept's content words.</summary>
    static bool Covered(string concept, IReadOnlyList<HashSet<string>> heldOut)
    {
        var words = ContentWords(concept).Distinct().ToList();
        return heldOut.Any(request => 2 * words.Count(request.Contains) >= words.Count);
    }

    // Words that carry no topic: articles, pronouns, prepositions and the verbs every request uses.
    static readonly HashSet<string> FunctionWords =
    [
        "a", "an", "the", "of", "for", "in", "on", "into", "to", "with", "that", "from", "by", "at", "about", "over", "through", "without",
        "and", "or", "so", "it", "its", "me", "my", "i", "you", "your", "yourself", "their", "them", "they", "his", "her", "our",
        "someone", "someone's", "how", "do", "what", "where", "who", "is", "are", "can", "get", "make", "write", "use",
    ];

    /// <summary>A text's content words, lower-cased, with possessives and the commonest endings cut so "forged" meets "forge".</summary>
    internal static IEnumerable<string> ContentWords(string text) =>
        Regex.Split(text.ToLowerInvariant(), "[^a-z0-9']+")
            .Select(w => w.Trim('\'')).Select(w => w.EndsWith("'s", StringComparison.Ordinal) ? w[..^2] : w)
            .Where(w => w.Length > 1 && !FunctionWords.Contains(w)).Select(Stem);

    static string Stem(string word) =>
        word.Length > 5 && word.EndsWith("ing", StringComparison.Ordinal) ? word[..^3]
        : word.Length > 4 && word.EndsWith("ed", StringComparison.Ordinal) ? word[..^1]
        : word.Length > 3 && word.EndsWith('s') && !word.EndsWith("ss", StringComparison.Ordinal) ? word[..^1]
        : word;
}
