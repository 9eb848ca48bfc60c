using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gpt4Sharp.Curriculum.Dialogue;

/// <summary>
/// Multi-turn conversations: the user states personal facts early (and a distracting fact
/// about someone else), then many unrelated turns pass, then asks about one of the facts.
/// Difficulty 1..6 sets the filler turns (1 to 48), so the longest conversations run past
/// a small model's context window.
/// </summary>
public sealed class DialogueFamily : CurriculumFamily
{
    public static readonly int[] FillerTurns = [1, 3, 6, 12, 24, 48];

    public override string Name => "dialogue";
    public override string Description => "Multi-turn conversations whose last question depends on a fact stated many turns earlier (with a distractor).";

    sealed record Slot(string Key, string Statement, string FriendStatement, string Question, string Reply, string[] Values);

    static readonly Slot[] Slots =
    [
        new("dog", "My dog is called {0}.", "My friend's dog is called {0}.", "What is my dog called?", "Your dog is called {0}.", ["Biscuit", "Pepper", "Milo", "Luna", "Rex", "Nala", "Toffee", "Ziggy"]),
        new("city", "I live in {0}.", "My cousin lives in {0}.", "Which city do I live in?", "You live in {0}.", ["Porto", "Oslo", "Kyoto", "Lima", "Tunis", "Quebec", "Perth", "Krakow"]),
        new("number", "My favourite number is {0}.", "My brother's favourite number is {0}.", "What is my favourite number?", "Your favourite number is {0}.", Enumerable.Range(11, 89).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray()),
        new("job", "I work as a {0}.", "My neighbour works as a {0}.", "What is my job?", "You work as a {0}.", ["nurse", "pilot", "chef", "plumber", "teacher", "architect", "librarian", "florist"]),
        new("sister", "My sister's name is {0}.", "My colleague's sister is called {0}.", "What is my sister's name?", "Your sister's name is {0}.", ["Mara", "Ines", "Yuki", "Olga", "Amara", "Bea", "Greta", "Noor"]),
        new("car", "My car is {0}.", "My boss's car is {0}.", "What colour is my car?", "Your car is {0}.", ["red", "blue", "green", "silver", "black", "white", "yellow", "orange"]),
    ];

    static readonly string[] Acks = ["Got it.", "Nice, noted.", "Thanks for telling me.", "Good to know."];
    static readonly (string Q, string A)[] SmallTalk =
    [
        ("Suggest a name for a house plant.", "How about Fern?"),
        ("Give me a word that rhymes with cat.", "Hat."),
        ("What is the opposite of cold?", "Hot."),
        ("Name a fruit that is yellow.", "A banana."),
        ("How many days are in a week?", "Seven."),
        ("What colour is the sky on a clear day?", "Blue."),
        ("Say something encouraging.", "You're doing great, keep going!"),
        ("What do bees make?", "Honey."),
    ];

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var level = rng.Range(1, FillerTurns.Length);
        var slotOrder = rng.Distinct(Slots.Length, 3);
        var facts = slotOrder.Select(i => (Slot: Slots[i], Value: rng.Pick(Slots[i].Values))).ToList();
        var asked = facts[rng.Next(facts.Count)];
        var distractorValue = asked.Slot.Values.Where(v => v != asked.Value).ElementAt(rng.Next(asked.Slot.Values.Length - 1));

        var history = new List<ChatMessage>();
        void Turn(string user, string assistant)
        {
            history.Add(new ChatMessage("user", user));
            history.Add(new ChatMessage("assistant", assistant));
        }
        foreach (var (slot, value) in facts) Turn(string.Format(CultureInfo.InvariantCulture, slot.Statement, value), rng.Pick(Acks));
        var fillers = FillerTurns[level - 1];
        var distractorAt = rng.Next(fillers);
        for (var i = 0; i < fillers; i++)
        {
            if (i == distractorAt) Turn(string.Format(CultureInfo.InvariantCulture, asked.Slot.FriendStatement, distractorValue), rng.Pick(Acks));
            if (rng.Chance(0.5))
            {
                var (a, b) = (rng.Range(2, 50), rng.Range(2, 50));
                Turn($"What is {a} + {b}?", (a + b).ToString(CultureInfo.InvariantCulture) + ".");
            }
            else
            {
                var (q, ans) = rng.Pick(SmallTalk);
                Turn(q, ans);
            }
        }
        var canonical = new StringBuilder();
        foreach (var m in history) canonical.Append(m.Role[0]).Append(':').Append(m.Content).Append('\n');
        canonical.Append(asked.Slot.Question);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "memory", Difficulty = level,
            History = history, Prompt = asked.Slot.Question, Answer = asked.Value,
            Response = string.Format(CultureInfo.InvariantCulture, asked.Slot.Reply, asked.Value),
            Canonical = canonical.ToString(),
            Extra = new JsonObject { ["slot"] = asked.Slot.Key, ["distractor"] = distractorValue, ["turns"] = history.Count / 2 + 1 },
        };
    }

    /// <summary>The reply must name the fact's value, not the distractor's, and no other value of that slot.</summary>
    public override CheckResult Check(CurriculumItem item, string modelAnswer)
    {
        if (string.IsNullOrWhiteSpace(modelAnswer)) return CheckResult.Wrong("empty reply");
        var slot = Slots.Single(s => s.Key == (string)item.Extra!["slot"]!);
        var lines = AnswerText.AnswerLines(modelAnswer);
        var text = lines.Count > 0 ? lines[^1] : modelAnswer;
        var named = slot.Values.Where(v => Regex.IsMatch(text, $@"(?<![A-Za-z0-9]){Regex.Escape(v)}(?![A-Za-z0-9])", RegexOptions.IgnoreCase)).ToList();
        var distractor = (string)item.Extra!["distractor"]!;
        if (named.Contains(distractor)) return CheckResult.Wrong($"answered with the distractor {distractor}");
        if (!named.Contains(item.Answer)) return CheckResult.Wrong($"expected {item.Answer}");
        return named.Count == 1 ? CheckResult.Right() : CheckResult.Wrong($"names several values ({string.Join(", ", named)})");
    }
}
