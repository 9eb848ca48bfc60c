namespace Gpt4Sharp.Curriculum.Bridge;

/// <summary>One crossing: who walks (indices into the times array) and in which direction.</summary>
public sealed record Crossing(int[] People, bool Forward, int Minutes);

/// <summary>
/// Exact bridge-and-torch solver: Dijkstra over states (who is still on the near side,
/// which side the torch is on). At most two cross together at the slower one's pace; the
/// torch must go with every crossing.
/// </summary>
public static class BridgeSolver
{
    public const int MaxPeople = 12;

    public static (int Minutes, IReadOnlyList<Crossing> Plan) Solve(IReadOnlyList<int> times)
    {
        var n = times.Count;
        if (n is < 1 or > MaxPeople) throw new ArgumentOutOfRangeException(nameof(times), $"need 1 to {MaxPeople} people");
        var all = (1 << n) - 1;
        // State = nearMask * 2 + torchFar.
        var states = (all + 1) * 2;
        var dist = new int[states];
        var prev = new int[states];
        var via = new Crossing?[states];
        Array.Fill(dist, int.MaxValue);
        var start = all * 2;
        dist[start] = 0;
        var queue = new PriorityQueue<int, int>();
        queue.Enqueue(start, 0);
        while (queue.TryDequeue(out var state, out var d))
        {
            if (d > dist[state]) continue;
            var near = state >> 1;
            var torchFar = (state & 1) == 1;
            if (near == 0) return (d, Rebuild(prev, via, state, start));
            var side = torchFar ? all & ~near : near;
            foreach (var group in Groups(side, torchFar ? 1 : 2))
            {
                var cost = group.Max(i => times[i]);
                var mask = group.Aggregate(0, (m, i) => m | 1 << i);
                var next = torchFar ? (near | mask) * 2 : (near & ~mask) * 2 + 1;
                if (d + cost >= dist[next]) continue;
                dist[next] = d + cost;
                prev[next] = state;
                via[next] = new Crossing(group, !torchFar, cost);
                queue.Enqueue(next, d + cost);
            }
        }
        throw new InvalidOperationException("unreachable: every bridge instance has a solution");
    }

    // Going back alone is always at least as good as two returning, so returns carry one person.
    static IEnumerable<int[]> Groups(int side, int maxSize)
    {
        for (var i = 0; i < MaxPeople; i++)
        {
            if ((side >> i & 1) == 0) continue;
            yield return [i];
            if (maxSize < 2) continue;
            for (var j = i + 1; j < MaxPeople; j++)
                if ((side >> j & 1) == 1) yield return [i, j];
        }
    }

    static List<Crossing> Rebuild(int[] prev, Crossing?[] via, int state, int start)
    {
        var plan = new List<Crossing>();
        for (var s = state; s != start; s = prev[s]) plan.Add(via[s]!);
        plan.Reverse();
        return plan;
    }
}
