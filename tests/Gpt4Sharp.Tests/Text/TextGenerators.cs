using FsCheck;
using FsCheck.Fluent;

namespace Gpt4Sharp.Tests.Text;

/// <summary>Valid UTF-16 text mixing what tokenizers find hard.</summary>
public sealed record MixedText(string Value)
{
    public override string ToString() => System.Text.Json.JsonSerializer.Serialize(Value);
}

/// <summary>Mixed text with unpaired surrogates spliced in.</summary>
public sealed record BrokenText(string Value)
{
    public override string ToString() => System.Text.Json.JsonSerializer.Serialize(Value);
}

public static class TextGenerators
{
    static readonly Gen<string> Ascii = Gen.Choose(0x20, 0x7E).Select(c => ((char)c).ToString());
    static readonly Gen<string> Han = Gen.Choose(0x4E00, 0x9FFF).Select(c => ((char)c).ToString());
    static readonly Gen<string> Emoji = Gen.Choose(0x1F300, 0x1FAFF).Select(char.ConvertFromUtf32);
    static readonly Gen<string> Whitespace = Gen.Elements(" ", "  ", "\n", "\r\n", "\t", "\u00A0", "\u3000");
    static readonly Gen<string> SpecialLookAlike = Gen.Elements(
        [.. Gpt4Sharp.Text.SpecialTokens.All, "<|", "|>", "<|endoftext", "<|user|", "<image", "<|fim_prefix|>", "'s", "'LL"]);
    static readonly Gen<string> AnyScalar = Gen.Choose(0, 0x10FFFF)
        .Where(c => c is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32);
    static readonly Gen<string> Word = Gen.Elements("the", "GPT-4", "数据", "模型", "Ġ", "naïve", "1234567", "ẞ", "é", "\u0301");

    static readonly Gen<string> Mixed = Gen.Frequency(
            (6, Ascii), (4, Han), (2, Emoji), (3, Whitespace), (2, SpecialLookAlike), (2, AnyScalar), (3, Word))
        .ListOf().Select(parts => string.Concat(parts));

    public static Arbitrary<MixedText> MixedTextArb() => Mixed.Select(s => new MixedText(s)).ToArbitrary();

    public static Arbitrary<BrokenText> BrokenTextArb() =>
        Gen.Zip(Mixed, Gen.Zip(Gen.Elements('\uD800', '\uDBFF', '\uDC00', '\uDFFF'), Gen.Choose(0, 1000)).ListOf())
            .Select(t =>
            {
                var (text, lones) = t;
                foreach (var (lone, position) in lones) text = text.Insert(position % (text.Length + 1), lone.ToString());
                return new BrokenText(text);
            })
            .ToArbitrary();
}
