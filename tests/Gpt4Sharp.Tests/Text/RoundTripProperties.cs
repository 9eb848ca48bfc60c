using System.Text;
using FsCheck.Xunit;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Tests.Text;

/// <summary>decode(encode(s)) == s for every tokenizer, and the lone-surrogate rule.</summary>
[Properties(Arbitrary = [typeof(TextGenerators)], MaxTest = 150)]
public class RoundTripProperties
{
    static readonly string[] Names = ["ours", "r50k_base", "cl100k_base", "o200k_base"];

    [Property]
    public bool Round_trip_holds_for_valid_text_with_and_without_special_tokens(MixedText text) =>
        Names.All(name =>
        {
            var tokenizer = TestTokenizers.Get(name);
            return tokenizer.Decode(tokenizer.Encode(text.Value)) == text.Value
                && tokenizer.Decode(tokenizer.Encode(text.Value, allowSpecial: true)) == text.Value;
        });

    [Property]
    public bool Token_bytes_concatenate_to_the_utf8_of_the_text(MixedText text) =>
        Names.All(name =>
        {
            var tokenizer = TestTokenizers.Get(name);
            var bytes = tokenizer.Encode(text.Value).SelectMany(tokenizer.TokenBytes).ToArray();
            return bytes.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(text.Value));
        });

    [Property]
    public bool Lone_surrogates_decode_as_replacement_characters(BrokenText text)
    {
        var expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text.Value)); // .NET's UTF-8 encoder writes U+FFFD for each lone surrogate
        return Names.All(name => TestTokenizers.Get(name).Decode(TestTokenizers.Get(name).Encode(text.Value)) == expected);
    }

    /// <summary>
    /// The plain pre-tokenizer regexes (used when special tokens are off) must split exactly as
    /// Microsoft.ML.Tokenizers' own ones do, or text with a special-token look-alike would
    /// encode differently from the same text without it.
    /// </summary>
    [Property]
    public bool Plain_pre_tokenizer_matches_the_package_on_text_without_special_tokens(MixedText text)
    {
        var plain = text.Value.Replace("<", ""); // every special token starts with '<'
        return Names.All(name =>
        {
            var tokenizer = (LibraryTokenizer)TestTokenizers.Get(name);
            return tokenizer.EncodeOrdinary(plain).SequenceEqual(tokenizer.Library.EncodeToIds(plain));
        });
    }
}
