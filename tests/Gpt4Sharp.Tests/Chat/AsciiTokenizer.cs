using System.Text;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Chat;

/// <summary>
/// A test tokenizer whose every id decodes to printable ASCII (or a newline), so any text an
/// untrained model writes encodes back to exactly the same ids: chat tests can then compare
/// cached turns with re-encoded ones token for token. Special tokens follow the 96 characters.
/// </summary>
public sealed class AsciiTokenizer : ITokenizer
{
    const int Characters = 96;
    public string Name => "ascii";
    public int VocabSize => Characters + SpecialTokens.All.Count;

    public int[] Encode(string text, bool allowSpecial = false)
    {
        var ids = new List<int>();
        for (int i = 0; i < text.Length; i++)
        {
            var special = allowSpecial ? SpecialTokens.All.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0) : null;
            if (special is not null) { ids.Add(SpecialTokenId(special)!.Value); i += special.Length - 1; continue; }
            char c = text[i];
            ids.Add(c == '\n' ? Characters - 1 : c is >= ' ' and <= '~' ? c - ' ' : '?' - ' ');
        }
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    public byte[] TokenBytes(int id) => id == Characters - 1 ? [(byte)'\n'] : id < Characters ? [(byte)(id + ' ')] : Encoding.UTF8.GetBytes(SpecialTokens.All[id - Characters]);

    public int? SpecialTokenId(string token)
    {
        int i = SpecialTokens.All.ToList().IndexOf(token);
        return i < 0 ? null : Characters + i;
    }
}
