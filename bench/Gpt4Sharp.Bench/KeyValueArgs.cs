using System.Globalization;

namespace Gpt4Sharp.Bench;

/// <summary>The key=value arguments of the PPO and safety-probe benches ("ppo=30 probe=200 out=DIR").</summary>
static class KeyValueArgs
{
    public static Dictionary<string, string> Parse(string[] args) =>
        args.Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    /// <summary>The integer under <paramref name="key"/>, or <paramref name="fallback"/> when it is not given.</summary>
    public static int Int(this IReadOnlyDictionary<string, string> args, string key, int fallback) =>
        args.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
