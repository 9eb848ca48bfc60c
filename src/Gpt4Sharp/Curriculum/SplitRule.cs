using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Gpt4Sharp.Curriculum;

/// <summary>
/// Train/eval wall: SHA-256 of "family\ncanonical problem" picks one of 10,000 buckets; the
/// lowest buckets are eval. Identical problems always land in the same split, on every
/// machine and runtime (unlike string.GetHashCode, which is randomised per process).
/// </summary>
public static class SplitRule
{
    public const int Buckets = 10_000;

    public static int Bucket(string family, string canonical)
    {
        var text = family + "\n" + canonical;
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var bytes = max <= 1024 ? stackalloc byte[max] : new byte[max];
        var n = Encoding.UTF8.GetBytes(text, bytes);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes[..n], hash);
        return (int)(BinaryPrimitives.ReadUInt64LittleEndian(hash) % Buckets);
    }

    public static Split SplitOf(string family, string canonical, double evalFraction) =>
        Bucket(family, canonical) < evalFraction * Buckets ? Split.Eval : Split.Train;
}
