namespace Gpt4Sharp.Data;

/// <summary>
/// A counter-based random source: the value for (seed, a, b) is a pure function of its inputs,
/// so any batch or split decision can be recomputed out of order, e.g. after a resume.
/// Hand-written (SplitMix64's finaliser, Steele et al. 2014) because System.Random gives no
/// random access and does not promise the same sequence across .NET versions.
/// </summary>
internal static class CounterHash
{
    public static ulong Hash(long seed, long a, long b = 0)
    {
        var x = Mix((ulong)seed + 0x9E3779B97F4A7C15UL);
        x = Mix(x ^ (ulong)a);
        return Mix(x ^ (ulong)b ^ 0xD1B54A32D192ED03UL);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double Unit(long seed, long a, long b = 0) => (Hash(seed, a, b) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) by multiply-high (Lemire), bias below 2^-64 * n.</summary>
    public static long Below(long n, long seed, long a, long b = 0) => (long)Math.BigMul(Hash(seed, a, b), (ulong)n, out _);

    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
