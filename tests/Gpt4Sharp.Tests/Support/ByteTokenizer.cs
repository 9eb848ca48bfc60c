using System.Text;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Support;

/// <summary>A test tokenizer: one id per UTF-8 byte, special tokens after 255.</summary>
public sealed class ByteTokenizer : ITokenizer
{
    public string Name => "bytes";
    public int VocabSize => 256 + SpecialTokens.All.Count;

    public int[] Encode(string text, bool allowSpecial = false)
    {
        var ids = new List<int>();
        int i = 0;
        while (i < text.Length)
        {
            var special = allowSpecial ? SpecialTokens.All.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0) : null;
            if (special is not null) { ids.Add(SpecialTokenId(special)!.Value); i += special.Length; continue; }
            int next = i + 1;
            while (next < text.Length && (!allowSpecial || !SpecialTokens.All.Any(s => string.CompareOrdinal(text, next, s, 0, s.Length) == 0))) next++;
            ids.AddRange(Encoding.UTF8.GetBytes(text[i..next]).Select(b => (int)b));
            i = next;
        }
        return ids.ToArray();
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    public byte[] TokenBytes(int id) => id < 256 ? [(byte)id] : Encoding.UTF8.GetBytes(SpecialTokens.All[id - 256]);

    public int? SpecialTokenId(string token)
    {
        int i = SpecialTokens.All.ToList().IndexOf(token);
        return i < 0 ? null : 256 + i;
    }
}
