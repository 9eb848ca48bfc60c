using System.Text;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Server.Tests;

/// <summary>A test tokenizer: one id per UTF-8 byte, the special tokens after 255 (so prompt lengths are easy to predict).</summary>
public sealed class ByteTokenizer : ITokenizer
{
    public string Name => "bytes";
    public int VocabSize => 256 + SpecialTokens.All.Count;

    public int[] Encode(string text, bool allowSpecial = false)
    {
        var ids = new List<int>();
        int start = 0;
        for (int i = 0; i < text.Length;)
        {
            var special = allowSpecial ? SpecialTokens.All.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0) : null;
            if (special is null) { i++; continue; }
            ids.AddRange(Encoding.UTF8.GetBytes(text[start..i]).Select(b => (int)b));
            ids.Add(SpecialTokenId(special)!.Value);
            i += special.Length;
            start = i;
        }
        ids.AddRange(Encoding.UTF8.GetBytes(text[start..]).Select(b => (int)b));
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    public byte[] TokenBytes(int id) => id < 256 ? [(byte)id] : Encoding.UTF8.GetBytes(SpecialTokens.All[id - 256]);

    public int? SpecialTokenId(string token)
    {
        int i = SpecialTokens.All.ToList().IndexOf(token);
        return i < 0 ? null : 256 + i;
    }
}
