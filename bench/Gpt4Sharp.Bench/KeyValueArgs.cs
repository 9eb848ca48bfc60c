using System.Globalization;

namespace Gpt4Sharp.Bench;

/// <summary>The key=value arguments of the PPO and safety-probe benches ("ppo=30 probe=200 out=DIR").</summary>
static class KeyValueArgs
{
    /// <summary>The arguments by key; a key given twice is refused (which one was meant cannot be known).</summary>
    public static Dictionary<string, string> Parse(string[] args)
    {
        var result = new Dictionary<string, string>();
        foreach (var pair in args.Select(a => a.Split('=', 2)))
            if (!result.TryAdd(pair[0], pair.Length > 1 ? pair[1] : ""))
                throw new Gpt4Sharp.UserError($"'{pair[0]}' is given twice ({pair[0]}={result[pair[0]]} and {string.Join('=', pair)}); give each key once.");
        return result;
    }

    /// <summary>The integer under <paramref name="key"/>, or <paramref name="fallback"/> when it is not given.</summary>
    public static int Int(this IReadOnlyDictionary<string, string> args, string key, int fallback) =>
        !args.TryGetValue(key, out var v) ? fallback
        : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
        : throw new Gpt4Sharp.UserError($"{key}={v} is not a whole number.");
}
