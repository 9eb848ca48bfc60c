using System.Collections;
using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;

namespace Gpt4Sharp.Curriculum.Code;

/// <summary>Writes C# values as Python literals for generated docstrings and assertions.</summary>
public static class Py
{
    public static string Lit(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        string s => Str(s),
        char c => Str(c.ToString()),
        ITuple t => "(" + string.Join(", ", Enumerable.Range(0, t.Length).Select(i => Lit(t[i]))) + (t.Length == 1 ? ",)" : ")"),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Lit)) + "]",
        _ => throw new ArgumentException($"no Python literal for {value.GetType().Name}"),
    };

    static string Str(string s)
    {
        var sb = new StringBuilder("'");
        foreach (var c in s)
            sb.Append(c switch { '\\' => "\\\\", '\'' => "\\'", '\n' => "\\n", _ => c.ToString() });
        return sb.Append('\'').ToString();
    }

    /// <summary>Arguments of one call, comma-separated.</summary>
    public static string Args(params object?[] args) => string.Join(", ", args.Select(Lit));
}
