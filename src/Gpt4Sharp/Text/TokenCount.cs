using System.Text.RegularExpressions;

namespace Gpt4Sharp.Text;

/// <summary>
/// Token statistics of a text. Characters are Unicode scalar values (an emoji is one).
/// Tokens per Han character encodes every maximal run of Han characters (CJK Unified
/// Ideographs, Extension A and Compatibility Ideographs in the BMP) on its own, without the
/// punctuation or Latin text around it, and divides the summed tokens by the number of Han
/// characters, so the figure does not depend on how much non-Han text a document has.
/// </summary>
public sealed record TokenCount(long Tokens, long Characters, long HanTokens, long HanCharacters)
{
    static readonly Regex HanRun = new(@"[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]+", RegexOptions.Compiled);

    public double TokensPerCharacter => Characters == 0 ? 0 : (double)Tokens / Characters;
    public double TokensPerHanCharacter => HanCharacters == 0 ? 0 : (double)HanTokens / HanCharacters;

    /// <summary>Counts with special-token strings treated as plain text.</summary>
    public static TokenCount Measure(ITokenizer tokenizer, string text)
    {
        long hanTokens = 0, hanChars = 0;
        foreach (Match run in HanRun.Matches(text))
        {
            hanTokens += tokenizer.Encode(run.Value).Length;
            hanChars += run.Length;
        }
        long characters = text.EnumerateRunes().LongCount();
        return new TokenCount(tokenizer.Encode(text).Length, characters, hanTokens, hanChars);
    }
}
