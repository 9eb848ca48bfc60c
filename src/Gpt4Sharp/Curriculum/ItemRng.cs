namespace Gpt4Sharp.Curriculum;

/// <summary>
/// SplitMix64 generator. Written here rather than using System.Random because every item
/// needs its own cheap generator derived from (seed, index, attempt), and the stream must
/// stay identical across .NET versions (System.Random promises neither).
/// </summary>
public sealed class ItemRng(ulong seed)
{
    ulong _state = seed;

    public static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    public static ItemRng For(long seed, long index, int attempt = 0, ulong salt = 0) =>
        new(Mix(Mix(Mix((ulong)seed ^ salt) + (ulong)index) + (ulong)attempt));

    public ulong NextULong()
    {
        _state += 0x9E3779B97F4A7C15UL;
        var z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, max).</summary>
    public int Next(int max) => max <= 1 ? 0 : (int)(NextULong() % (ulong)max);

    /// <summary>Uniform in [min, max] inclusive.</summary>
    public int Range(int min, int max) => min + Next(max - min + 1);

    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double p) => NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>k distinct indices from [0, n), in random order.</summary>
    public int[] Distinct(int n, int k)
    {
        var all = Enumerable.Range(0, n).ToArray();
        Shuffle(all);
        return all[..k];
    }
}
