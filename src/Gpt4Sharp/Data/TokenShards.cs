using Gpt4Sharp.Text;

namespace Gpt4Sharp.Data;

/// <summary>The train and validation shards of one prepared data directory, opened together.</summary>
public sealed class TokenShards : IDisposable
{
    public TokenShard Train { get; }
    public TokenShard Validation { get; }

    TokenShards(TokenShard train, TokenShard validation)
    {
        Train = train;
        Validation = validation;
    }

    /// <summary>Opens <c>train.bin</c> and <c>val.bin</c> in <paramref name="directory"/>; both must come from the same tokenizer.</summary>
    public static TokenShards Open(string directory)
    {
        if (!Directory.Exists(directory))
            throw new UserError($"Data directory {directory} does not exist; run `gpt4sharp data prepare` to create it.");
        var train = TokenShard.Open(Path.Combine(directory, TokenShardWriter.TrainFile));
        try
        {
            var validation = TokenShard.Open(Path.Combine(directory, TokenShardWriter.ValidationFile));
            if (!validation.Header.Fingerprint.AsSpan().SequenceEqual(train.Header.Fingerprint) || validation.Header.VocabSize != train.Header.VocabSize)
            {
                validation.Dispose();
                throw new UserError($"In {directory}, train.bin and val.bin were made with different tokenizers; run `gpt4sharp data prepare` again to rebuild both.");
            }
            return new TokenShards(train, validation);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>See <see cref="TokenShard.CheckTokenizer"/>.</summary>
    public void CheckTokenizer(ITokenizer tokenizer) => Train.CheckTokenizer(tokenizer);

    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
    }
}
