using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Data;

/// <summary>Progress while preparing shards: documents and tokens so far, per split.</summary>
public readonly record struct ShardProgress(long Documents, long TrainTokens, long ValidationTokens);

/// <summary>What <see cref="TokenShardWriter.Prepare"/> wrote, for the CLI's summary table.</summary>
public sealed record ShardSummary(
    string TrainPath,
    string ValidationPath,
    string MetaPath,
    long TrainDocuments,
    long ValidationDocuments,
    long TrainTokens,
    long ValidationTokens,
    string TokenizerName,
    int VocabSize,
    string DType,
    string Fingerprint,
    TimeSpan Elapsed);

/// <summary>
/// Encodes documents into the two packed shards a pretraining run reads: every document's ids
/// followed by <c>&lt;|endoftext|&gt;</c>, concatenated. Each document goes to validation with
/// probability <c>validationFraction</c>, decided by a hash of (seed, document index), so the
/// split is deterministic, streams (nothing is held in memory) and needs no shuffle.
/// </summary>
public static class TokenShardWriter
{
    public const string TrainFile = "train.bin";
    public const string ValidationFile = "val.bin";
    public const string MetaFile = "meta.json";

    public static ShardSummary Prepare(
        IEnumerable<string> documents,
        ITokenizer tokenizer,
        string outDir,
        double validationFraction,
        long seed,
        IProgress<ShardProgress>? progress = null)
    {
        if (validationFraction is < 0 or >= 1 || double.IsNaN(validationFraction))
            throw new UserError($"Validation fraction {validationFraction} is outside [0, 1); use something like 0.05.");
        var eot = tokenizer.SpecialTokenId(SpecialTokens.EndOfText)
            ?? throw new UserError($"Tokenizer {tokenizer.Name} has no {SpecialTokens.EndOfText} token; train or pick a tokenizer that carries the Gpt4Sharp special tokens.");
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        var fingerprint = TokenizerFingerprint.Compute(tokenizer);
        var width = TokenShardHeader.BytesPerTokenFor(tokenizer.VocabSize);
        var train = new SplitWriter(width, tokenizer.VocabSize);
        var val = new SplitWriter(width, tokenizer.VocabSize);
        var trainPath = Path.Combine(outDir, TrainFile);
        var valPath = Path.Combine(outDir, ValidationFile);

        AtomicFile.Write(trainPath, trainStream => AtomicFile.Write(valPath, valStream =>
        {
            var placeholder = new byte[Header(0, 0).DataOffset];
            trainStream.Write(placeholder);
            valStream.Write(placeholder);
            // The newest document is held back one step so the last one can fill a split that would
            // otherwise stay empty: training first, then validation when a fraction was asked for.
            int[]? pending = null;
            long index = 0;
            foreach (var doc in documents)
            {
                if (pending is not null) Route(pending, index - 1, last: false);
                pending = [.. tokenizer.Encode(doc), eot];
                index++;
                if (index % 256 == 0) progress?.Report(new(index, train.Tokens, val.Tokens));
            }
            if (pending is not null) Route(pending, index - 1, last: true);
            if (train.Documents == 0)
                throw new UserError("The input holds no documents, so there is nothing to put in the shards; give .txt or .jsonl files that contain text.");
            WriteHeader(trainStream, Header(train.Tokens, train.Documents));
            WriteHeader(valStream, Header(val.Tokens, val.Documents));
            progress?.Report(new(index, train.Tokens, val.Tokens));

            void Route(int[] ids, long docIndex, bool last)
            {
                bool toVal;
                if (last && train.Documents == 0) toVal = false;
                else if (last && validationFraction > 0 && val.Documents == 0) toVal = true;
                else toVal = CounterHash.Unit(seed, docIndex) < validationFraction;
                if (toVal) val.Append(ids, valStream); else train.Append(ids, trainStream);
            }
        }));

        TokenShardHeader Header(long tokens, long docs) => new(width, tokens, docs, tokenizer.VocabSize, fingerprint, tokenizer.Name);

        var fingerprintHex = Convert.ToHexStringLower(fingerprint);
        var meta = new JsonObject
        {
            ["format"] = "gpt4sharp-token-shards",
            ["format_version"] = TokenShardHeader.FormatVersion,
            ["dtype"] = width == 2 ? "uint16" : "uint32",
            ["tokenizer"] = new JsonObject { ["name"] = tokenizer.Name, ["vocab_size"] = tokenizer.VocabSize, ["fingerprint_sha256"] = fingerprintHex },
            ["end_of_text_id"] = eot,
            ["seed"] = seed,
            ["validation_fraction"] = validationFraction,
            ["train"] = new JsonObject { ["file"] = TrainFile, ["documents"] = train.Documents, ["tokens"] = train.Tokens },
            ["validation"] = new JsonObject { ["file"] = ValidationFile, ["documents"] = val.Documents, ["tokens"] = val.Tokens },
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
        };
        var metaPath = Path.Combine(outDir, MetaFile);
        AtomicFile.WriteAllText(metaPath, meta.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return new ShardSummary(Path.GetFullPath(trainPath), Path.GetFullPath(valPath), Path.GetFullPath(metaPath),
            train.Documents, val.Documents, train.Tokens, val.Tokens, tokenizer.Name, tokenizer.VocabSize,
            width == 2 ? "uint16" : "uint32", fingerprintHex, clock.Elapsed);
    }

    static void WriteHeader(Stream stream, TokenShardHeader header)
    {
        stream.Flush();
        stream.Position = 0;
        stream.Write(header.ToBytes());
        stream.Seek(0, SeekOrigin.End);
    }

    /// <summary>Counts and little-endian packing for one split.</summary>
    sealed class SplitWriter(int width, int vocabSize)
    {
        byte[] _buffer = [];
        public long Tokens { get; private set; }
        public long Documents { get; private set; }

        public void Append(int[] ids, Stream stream)
        {
            var bytes = ids.Length * width;
            if (_buffer.Length < bytes) _buffer = new byte[Math.Max(bytes, 2 * _buffer.Length)];
            var span = _buffer.AsSpan(0, bytes);
            for (var i = 0; i < ids.Length; i++)
            {
                var id = ids[i];
                if ((uint)id >= (uint)vocabSize) throw new InvalidOperationException($"tokenizer produced id {id} outside its vocabulary of {vocabSize}");
                if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], (ushort)id);
                else BinaryPrimitives.WriteUInt32LittleEndian(span[(4 * i)..], (uint)id);
            }
            stream.Write(span);
            Tokens += ids.Length;
            Documents++;
        }
    }
}
