using System.Text;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Data;

/// <summary>
/// A test-only tokenizer: each UTF-8 byte is one id (shifted by <paramref name="offset"/>), the
/// special tokens follow. An offset above 65535 forces uint32 shards.
/// </summary>
public sealed class ByteTokenizer(string name = "bytes", int offset = 0) : ITokenizer
{
    public string Name => name;
    public int VocabSize => offset + 256 + SpecialTokens.All.Count;

    public int[] Encode(string text, bool allowSpecial = false)
    {
        if (!allowSpecial) return Array.ConvertAll(Encoding.UTF8.GetBytes(text), b => offset + b);
        var ids = new List<int>();
        var rest = text;
        while (rest.Length > 0)
        {
            var hit = SpecialTokens.All.Select(s => (s, at: rest.IndexOf(s, StringComparison.Ordinal))).Where(h => h.at >= 0).OrderBy(h => h.at).FirstOrDefault();
            if (hit.s is null) { ids.AddRange(Encode(rest)); break; }
            ids.AddRange(Encode(rest[..hit.at]));
            ids.Add(SpecialTokenId(hit.s)!.Value);
            rest = rest[(hit.at + hit.s.Length)..];
        }
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    public byte[] TokenBytes(int id) => id - offset < 256 ? [(byte)(id - offset)] : Encoding.UTF8.GetBytes(SpecialTokens.All[id - offset - 256]);

    public int? SpecialTokenId(string token)
    {
        var i = SpecialTokens.All.ToList().IndexOf(token);
        return i < 0 ? null : offset + 256 + i;
    }
}
