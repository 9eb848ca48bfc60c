using System.Globalization;
using System.Text.RegularExpressions;
using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Arithmetic;
using Gpt4Sharp.Curriculum.Bridge;

namespace Gpt4Sharp.Tests.Curriculum;

public class ArithmeticAndBridgeTests
{
    static readonly ArithmeticFamily Arithmetic = new();
    static readonly BridgeFamily Bridge = new();

    [Fact]
    public void Rationales_compute_what_they_claim_and_cover_one_to_six_steps()
    {
        var items = Arithmetic.Generate(11, Split.Train, 600).ToList();
        Assert.Equal(Enumerable.Range(1, 6), items.Select(i => i.Difficulty).Distinct().Order());
        foreach (var item in items)
        {
            var steps = Regex.Matches(item.Rationale!, @"(\d+) ([-+×÷]) (\d+) = (\d+)");
            Assert.Equal(item.Difficulty, steps.Count);
            foreach (Match m in steps)
            {
                long a = long.Parse(m.Groups[1].Value), b = long.Parse(m.Groups[3].Value), r = long.Parse(m.Groups[4].Value);
                Assert.Equal(r, m.Groups[2].Value switch { "+" => a + b, "-" => a - b, "×" => a * b, _ => a / b });
                if (m.Groups[2].Value == "÷") Assert.Equal(0, a % b);
            }
            Assert.Equal(item.Answer, steps[^1].Groups[4].Value);
            Assert.EndsWith($"answer: {item.Answer}", item.Response);
        }
    }

    [Theory]
    [InlineData("answer: 1234")]
    [InlineData("Answer: 1,234")]
    [InlineData("some work\nANSWER:1234.")]
    [InlineData("answer: 1234.0")]
    [InlineData("**Answer:** 1234")]
    [InlineData("answer: 1234\nanswer: 1234")]
    public void Accepts_documented_formatting_variants(string reply) =>
        Assert.True(AnswerText.CheckInteger(reply, 1234).Correct, reply);

    [Theory]
    [InlineData("1234", "no 'answer:' line")]
    [InlineData("the answer is 1234", "no 'answer:' line")]
    [InlineData("answer: 1235", "expected 1234")]
    [InlineData("answer: -1234", "expected 1234")]
    [InlineData("answer: 1234 or 1235", "more than one number")]
    [InlineData("answer: 12 34", "more than one number")]
    [InlineData("answer: twelve", "not a number")]
    [InlineData("answer: 1234 apples", "extra text")]
    [InlineData("answer: 12,34", "not a well-formed number")]
    [InlineData("answer: 1234\nanswer: 99", "disagree")]
    [InlineData("answer:", "empty")]
    public void Rejects_every_corruption(string reply, string reason)
    {
        var verdict = AnswerText.CheckInteger(reply, 1234);
        Assert.False(verdict.Correct, reply);
        Assert.Contains(reason, verdict.Reason);
    }

    [Fact]
    public void Arithmetic_checker_rejects_a_shifted_answer_on_real_items()
    {
        foreach (var item in Arithmetic.Generate(3, Split.Eval, 50))
        {
            var wrong = long.Parse(item.Answer, CultureInfo.InvariantCulture) + 1;
            Assert.False(Arithmetic.Check(item, $"{item.Rationale}\nanswer: {wrong}").Correct);
            Assert.False(Arithmetic.Check(item, item.Rationale!).Correct);
        }
    }

    [Fact]
    public void Classic_bridge_instance_takes_17_minutes()
    {
        var (minutes, plan) = BridgeSolver.Solve([1, 2, 5, 10]);
        Assert.Equal(17, minutes);
        Assert.Equal(5, plan.Count);
        var item = BridgeFamily.Build([1, 2, 5, 10], ["Ana", "Ben", "Chen", "Dara"]);
        Assert.Equal("17", item.Answer);
        Assert.Contains("total 17", item.Rationale);
        Assert.True(Bridge.Check(item, "answer: 17 minutes").Correct);
        Assert.False(Bridge.Check(item, "answer: 19").Correct);
        Assert.False(Bridge.Check(item, "answer: 17 hours").Correct);
    }

    [Fact]
    public void Solver_matches_brute_force_and_its_plans_are_valid()
    {
        var rng = new ItemRng(5);
        for (var trial = 0; trial < 60; trial++)
        {
            var n = rng.Range(1, 6);
            var times = Enumerable.Range(0, n).Select(_ => rng.Range(1, 12)).Order().ToArray();
            var (minutes, plan) = BridgeSolver.Solve(times);
            Assert.Equal(BruteForce(times), minutes);
            Assert.Equal(minutes, Simulate(times, plan));
        }
    }

    // Bellman-Ford style relaxation over every state and every move, two walkers allowed in
    // both directions, until nothing improves: exhaustive, and shares no logic with Dijkstra.
    static int BruteForce(int[] times)
    {
        var n = times.Length;
        var all = (1 << n) - 1;
        var dist = new Dictionary<(int Near, bool TorchNear), int> { [(all, true)] = 0 };
        bool changed;
        do
        {
            changed = false;
            foreach (var ((near, torchNear), d) in dist.ToList())
            {
                var side = torchNear ? near : all & ~near;
                for (var i = 0; i < n; i++)
                    for (var j = i; j < n; j++)
                    {
                        if ((side >> i & 1) == 0 || (side >> j & 1) == 0) continue;
                        var mask = 1 << i | 1 << j;
                        var next = (torchNear ? near & ~mask : near | mask, !torchNear);
                        var cost = d + Math.Max(times[i], times[j]);
                        if (dist.TryGetValue(next, out var old) && old <= cost) continue;
                        dist[next] = cost;
                        changed = true;
                    }
            }
        } while (changed);
        return dist[(0, false)];
    }

    static int Simulate(int[] times, IReadOnlyList<Crossing> plan)
    {
        var near = Enumerable.Range(0, times.Length).ToHashSet();
        var torchNear = true;
        var total = 0;
        foreach (var c in plan)
        {
            Assert.Equal(torchNear, c.Forward);
            Assert.InRange(c.People.Length, 1, 2);
            foreach (var p in c.People) Assert.Equal(torchNear, near.Contains(p));
            foreach (var p in c.People) { if (torchNear) near.Remove(p); else near.Add(p); }
            Assert.Equal(c.People.Max(p => times[p]), c.Minutes);
            total += c.Minutes;
            torchNear = !torchNear;
        }
        Assert.Empty(near);
        return total;
    }
}
