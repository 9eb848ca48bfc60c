using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Gpt4Sharp.Curriculum.Bridge;

/// <summary>
/// Bridge-and-torch puzzles: n people (difficulty = n, 2..7) with crossing times, at most two
/// on the bridge, one torch. The answer is the solver's minimal total time; the rationale
/// lists the optimal crossings with a running clock.
/// </summary>
public sealed class BridgeFamily : CurriculumFamily
{
    public override string Name => "bridge";
    public override string Description => "Bridge-and-torch puzzles (capacity two, one torch) with the exact minimal time and an optimal step-by-step plan.";

    static readonly string[] Names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena"];
    static readonly int[] TimeChoices = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25];

    protected override CurriculumItem Propose(ItemRng rng)
    {
        var n = rng.Range(2, 7);
        var times = Enumerable.Range(0, n).Select(_ => rng.Pick(TimeChoices)).Order().ToArray();
        var people = rng.Distinct(Names.Length, n).Select(i => Names[i]).ToArray();
        return Build(times, people);
    }

    /// <summary>The puzzle for given times (sorted ascending) and names.</summary>
    public static CurriculumItem Build(int[] times, string[] people)
    {
        var (minutes, plan) = BridgeSolver.Solve(times);
        var who = string.Join(", ", people.Select((p, i) => $"{p} takes {times[i]} min"));
        var prompt = $"{people.Length} people must cross a bridge at night. At most two can cross at a time, they have one torch, " +
                     $"and the torch must be carried on every crossing; a pair walks at the slower person's pace. {who}. " +
                     "What is the shortest total time for everyone to cross?";
        var rationale = new StringBuilder();
        var clock = 0;
        foreach (var c in plan)
        {
            clock += c.Minutes;
            var names = string.Join(" and ", c.People.Select(i => people[i]));
            rationale.Append(CultureInfo.InvariantCulture,
                $"{(c.Forward ? "Cross" : "Return")}: {names} ({c.Minutes} min), total {clock}.\n");
        }
        rationale.Append(CultureInfo.InvariantCulture, $"Everyone is across after {minutes} minutes.");
        var answer = minutes.ToString(CultureInfo.InvariantCulture);
        return new CurriculumItem
        {
            Id = "", Family = "", Kind = "bridge_torch", Difficulty = times.Length,
            Prompt = prompt, Answer = answer, Rationale = rationale.ToString(),
            Response = $"{rationale}\nanswer: {answer}",
            // Names do not change the puzzle; the multiset of times is the problem.
            Canonical = string.Join(",", times),
            Extra = new JsonObject { ["times"] = new JsonArray(times.Select(t => (JsonNode)t).ToArray()) },
        };
    }

    public override CheckResult Check(CurriculumItem item, string modelAnswer) =>
        AnswerText.CheckInteger(modelAnswer, long.Parse(item.Answer, CultureInfo.InvariantCulture), "min", "mins", "minutes", "minute");
}
