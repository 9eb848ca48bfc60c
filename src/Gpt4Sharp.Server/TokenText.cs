using System.Text;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Server;

/// <summary>
/// Turns one sequence's tokens into streamed text: UTF-8 characters split across tokens are
/// held back until complete, and text that could be the start of a stop string is held back
/// until it is known not to be one, so a stop string never leaks into the output. (The same
/// rules as TextGenerator's, which keeps its matcher private to its single-sequence loop.)
/// </summary>
sealed class TokenText(ITokenizer tokenizer, IReadOnlyList<string> stops)
{
    readonly Decoder decoder = Encoding.UTF8.GetDecoder();
    readonly StringBuilder held = new();
    readonly StringBuilder all = new();

    /// <summary>The text emitted so far.</summary>
    public string Text => all.ToString();

    /// <summary>Adds a token: (text that is safe to emit now, whether a stop string was reached).</summary>
    public (string Emit, bool Stopped) Push(int token)
    {
        var bytes = tokenizer.TokenBytes(token);
        var chars = new char[decoder.GetCharCount(bytes, flush: false)];
        decoder.GetChars(bytes, chars, flush: false);
        return Hold(new string(chars));
    }

    /// <summary>At the end: the rest of an incomplete UTF-8 sequence (as U+FFFD) and any held text, cut at a stop string.</summary>
    public (string Emit, bool Stopped) Finish()
    {
        var rest = new char[decoder.GetCharCount([], flush: true)];
        decoder.GetChars([], rest, flush: true);
        var (emit, stopped) = Hold(new string(rest));
        if (!stopped)
        {
            emit += held.ToString();
            all.Append(held);
            held.Clear();
        }
        return (emit, stopped);
    }

    (string, bool) Hold(string text)
    {
        held.Append(text);
        var s = held.ToString();
        foreach (var stop in stops)
        {
            int at = s.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                held.Clear();
                all.Append(s.AsSpan(0, at));
                return (s[..at], true);
            }
        }
        int keep = stops.Count == 0 ? 0 : stops.Max(stop => SuffixPrefixLength(s, stop));
        held.Clear().Append(s[^keep..]);
        all.Append(s.AsSpan(0, s.Length - keep));
        return (s[..^keep], false);
    }

    static int SuffixPrefixLength(string s, string stop)
    {
        for (int n = Math.Min(s.Length, stop.Length - 1); n > 0; n--)
            if (string.CompareOrdinal(s, s.Length - n, stop, 0, n) == 0) return n;
        return 0;
    }
}
