using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using Gpt4Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Inference;

/// <summary>How the CPU decoder holds weight matrices: the model's fp32 tensors, or int8 copies with per-row scales.</summary>
public enum DecodeWeights { Fp32, Int8 }

/// <summary>
/// Batch-1 decoding of a dense model on the CPU in plain C#, one token at a time. At batch 1 a
/// small model's arithmetic is a few million multiply-adds per token, less than the cost of the
/// ~40 TorchSharp calls per layer that the module path makes (each a P/Invoke, an allocation and
/// a dispose); llama.cpp avoids the same cost by running its own kernels. So decoding steps run
/// here on the model's own weights (fp32 read in place, or int8), with AVX2 kernels for the
/// matrix rows (MatrixKernels.cs) and System.Numerics.Tensors for the rest; the prompt still goes through <see cref="GptModel.Forward"/> as
/// one batched pass, and its keys and values are copied into this decoder's cache. Logits equal
/// the module path's to float rounding (test). Sparse and recurrent attention, bf16 and CUDA
/// models stay on the module path (<see cref="Supports"/>).
/// </summary>
public sealed class CpuDecoder
{
    readonly GptModel model;
    readonly GptConfig config;
    readonly Layer[] layers;
    readonly Tensor embedding, finalNorm; // fp32 tensors owned by the model
    readonly DecodeMatrix head;

    /// <summary>One decoder layer's weights: q, k, v stacked into one product, gate and up into another.</summary>
    sealed record Layer(Tensor InputNorm, DecodeMatrix Qkv, DecodeMatrix O, Tensor PostNorm, DecodeMatrix GateUp, DecodeMatrix Down);

    /// <summary>True when <paramref name="model"/> can decode here; otherwise <paramref name="reason"/> says why not.</summary>
    public static bool Supports(GptModel model, out string reason)
    {
        reason = model.Device.type != DeviceType.CPU ? "the model is not on the CPU"
            : model.DType != ScalarType.Float32 ? $"the model's weights are {model.DType}, not fp32"
            : model.Config.Attention != AttentionKind.Dense ? $"{model.Config.Attention} attention decodes through the module path"
            : model.Config.Architecture != ModelArchitecture.Llama ? $"the {model.Config.Architecture} architecture decodes through the module path"
            : "";
        return reason.Length == 0;
    }

    /// <param name="threads">Threads for the larger matrix products (default: one per core).</param>
    public CpuDecoder(GptModel model, DecodeWeights weights = DecodeWeights.Fp32, int? threads = null)
    {
        Threads = threads ?? Environment.ProcessorCount;
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "threads must be at least 1");
        if (!Supports(model, out var reason)) throw new ArgumentException($"The CPU decoder cannot run this model: {reason}.", nameof(model));
        this.model = model;
        config = model.Config;
        Weights = weights;
        var p = model.state_dict();
        DecodeMatrix Matrix(string name) => weights == DecodeWeights.Int8 ? Int8Matrix.Quantize(p[name]) : new Fp32Matrix(p[name]);
        layers = Enumerable.Range(0, config.Layers).Select(i =>
        {
            string l = $"model.layers.{i}.";
            return new Layer(p[l + "input_layernorm.weight"],
                new StackedMatrix(Matrix(l + "self_attn.q_proj.weight"), Matrix(l + "self_attn.k_proj.weight"), Matrix(l + "self_attn.v_proj.weight")),
                Matrix(l + "self_attn.o_proj.weight"), p[l + "post_attention_layernorm.weight"],
                new StackedMatrix(Matrix(l + "mlp.gate_proj.weight"), Matrix(l + "mlp.up_proj.weight")), Matrix(l + "mlp.down_proj.weight"));
        }).ToArray();
        embedding = p["model.embed_tokens.weight"];
        finalNorm = p["model.norm.weight"];
        head = Matrix(config.TiedEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    }

    public DecodeWeights Weights { get; }
    public int Threads { get; }
    public GptModel Model => model;

    /// <summary>Bytes of weight matrices read per decoded token.</summary>
    public long WeightBytesPerToken => head.WeightBytes + layers.Sum(l => new[] { l.Qkv, l.O, l.GateUp, l.Down }.Sum(m => m.WeightBytes));

    /// <summary>A new, empty sequence with room for <paramref name="capacity"/> positions (default: the model's context).</summary>
    public DecodeSequence NewSequence(int? capacity = null) => new(this, capacity ?? config.ContextLength);

    /// <summary>
    /// One sequence's keys and values and its working buffers; not thread-safe. A sequence holds
    /// native memory only once a batched <see cref="Append"/> has continued it (a chat's later
    /// turns), so disposing matters for those.
    /// </summary>
    public sealed unsafe class DecodeSequence : IDisposable
    {
        readonly CpuDecoder decoder;
        readonly GptConfig config;
        // Per layer [kvHeads, headDim, stride] (keys already rotated): position is the fastest axis, so
        // attention over n positions is headDim long vector operations rather than n short ones. The
        // stride starts small and doubles up to Capacity, so a long-context chat does not hold the
        // whole context's keys and values from its first turn.
        readonly float[][] keys, values;
        int stride;
        // The module's KV cache kept in step with the rows above, made by the first batched append to a
        // started sequence: later batched appends then run against it without copying the history in again.
        KvCache? mirror;
        readonly float[] cos, sin;       // [capacity, headDim] RoPE table, the model's own
        readonly float[] x, normed, qkv, attended, projected, gateUp, scores, logits;

        internal DecodeSequence(CpuDecoder decoder, int capacity)
        {
            this.decoder = decoder;
            config = decoder.config;
            if (capacity < 1 || capacity > config.ContextLength)
                throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity must be 1..{config.ContextLength}");
            Capacity = capacity;
            stride = Math.Min(capacity, InitialStride);
            int kvSize = config.KvHeads * config.HeadDim * stride;
            keys = Enumerable.Range(0, config.Layers).Select(_ => new float[kvSize]).ToArray();
            values = Enumerable.Range(0, config.Layers).Select(_ => new float[kvSize]).ToArray();
            using (var rotary = new Rotary(config.HeadDim, config.RopeTheta, 0, capacity, CPU, ScalarType.Float32))
                (cos, sin) = (rotary.Table.Cos.data<float>().ToArray(), rotary.Table.Sin.data<float>().ToArray());
            int d = config.DModel, heads = config.Heads * config.HeadDim, kv = config.KvHeads * config.HeadDim;
            (x, normed, qkv, attended, projected) = (new float[d], new float[d], new float[heads + 2 * kv], new float[heads], new float[d]);
            (gateUp, scores, logits) = (new float[2 * config.FfnWidth], new float[capacity], new float[config.VocabSize]);
        }

        const int InitialStride = 512;

        /// <summary>Positions stored so far (the next token's position).</summary>
        public int Length { get; private set; }
        public int Capacity { get; }

        /// <summary>
        /// Runs a prompt through the model in one batched pass and keeps its keys and values;
        /// returns the logits after its last token (valid until the next call).
        /// </summary>
        public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> tokens)
        {
            if (Length != 0) throw new InvalidOperationException("Prefill starts a sequence; continue it with Step or Append.");
            if (tokens.Length == 0 || tokens.Length > Capacity)
                throw new UserError($"The prompt is {tokens.Length} tokens but the sequence holds 1..{Capacity}; shorten it.");
            return ForwardBatch(tokens);
        }

        /// <summary>
        /// Feeds <paramref name="tokens"/> after what the sequence holds (a chat turn's new tokens):
        /// one token is a decoding step; several go through the model in one batched pass against
        /// the stored keys and values. Returns the logits after the last one (valid until the next call).
        /// </summary>
        public ReadOnlySpan<float> Append(ReadOnlySpan<int> tokens)
        {
            if (tokens.Length == 0) throw new ArgumentException("Append needs at least one token.", nameof(tokens));
            if (Length + tokens.Length > Capacity)
                throw new UserError($"The sequence holds {Capacity} positions; {Length} are used and {tokens.Length} more do not fit.");
            return tokens.Length == 1 && Length > 0 ? Step(tokens[0]) : ForwardBatch(tokens);
        }

        /// <summary>Forgets every position, so the sequence can start again.</summary>
        public void Clear()
        {
            Length = 0;
            mirror?.Truncate(0);
        }

        public void Dispose()
        {
            mirror?.Dispose();
            mirror = null;
        }

        /// <summary>
        /// <see cref="GptModel.Forward"/> over <paramref name="tokens"/> with a KV cache seeded from
        /// the stored positions, whose new keys and values are then copied in here.
        /// </summary>
        ReadOnlySpan<float> ForwardBatch(ReadOnlySpan<int> tokens)
        {
            int n = tokens.Length;
            Reserve(Length + n);
            using var scope = torch.NewDisposeScope();
            using var inference = torch.inference_mode();
            if (mirror is null && Length > 0) mirror = SeededMirror();
            using var prompt = mirror is null ? decoder.model.NewCache(batch: 1, capacity: n) : null;
            var cache = mirror ?? prompt!;
            var ids = torch.tensor(tokens.ToArray().Select(t => (long)t).ToArray(), dtype: ScalarType.Int64).unsqueeze(0);
            var last = decoder.model.Forward(ids, cache).select(1, -1).to(ScalarType.Float32).contiguous();
            for (int layer = 0; layer < config.Layers; layer++)
            {
                var (k, v) = cache.Stored(layer);
                CopyPositions(k.narrow(2, Length, n), keys[layer], n);
                CopyPositions(v.narrow(2, Length, n), values[layer], n);
            }
            Length += n;
            last.data<float>().CopyTo(logits, 0, 0);
            return logits;
        }

        /// <summary>A module cache of this sequence's capacity holding the stored positions.</summary>
        KvCache SeededMirror()
        {
            var cache = decoder.model.NewCache(batch: 1, capacity: Capacity);
            for (int layer = 0; layer < config.Layers; layer++)
                cache.Append(layer, StoredPositions(keys[layer]), StoredPositions(values[layer]));
            cache.Advance(Length);
            return cache;
        }

        /// <summary>This sequence's [kvHeads, headDim, stride] rows as the module's [1, kvHeads, Length, headDim].</summary>
        Tensor StoredPositions(float[] rows) =>
            torch.tensor(rows, [config.KvHeads, config.HeadDim, stride]).narrow(2, 0, Length).transpose(1, 2).unsqueeze(0);

        /// <summary>Widens the key and value rows so that <paramref name="positions"/> fit (doubling, at most Capacity).</summary>
        void Reserve(int positions)
        {
            if (positions <= stride) return;
            int wider = Math.Min(Capacity, Math.Max(positions, 2 * stride));
            for (int layer = 0; layer < config.Layers; layer++)
            {
                keys[layer] = Widen(keys[layer], wider);
                values[layer] = Widen(values[layer], wider);
            }
            stride = wider;
        }

        float[] Widen(float[] rows, int wider)
        {
            var widened = new float[config.KvHeads * config.HeadDim * wider];
            for (int row = 0; row < config.KvHeads * config.HeadDim; row++)
                Array.Copy(rows, row * stride, widened, row * wider, Length);
            return widened;
        }

        /// <summary>[1, kvHeads, n, headDim] into this sequence's [kvHeads, headDim, stride] layout after the stored positions.</summary>
        void CopyPositions(Tensor stored, float[] target, int n)
        {
            var flat = stored.squeeze(0).transpose(1, 2).contiguous().data<float>().ToArray(); // [kvHeads, headDim, n]
            for (int row = 0; row < config.KvHeads * config.HeadDim; row++)
                Array.Copy(flat, row * n, target, row * stride + Length, n);
        }

        /// <summary>Feeds one token at the next position; returns the next-token logits (valid until the next call).</summary>
        public ReadOnlySpan<float> Step(int token)
        {
            if (Length >= Capacity)
                throw new UserError($"The sequence holds {Capacity} positions and is full; start a new one or use a larger context.");
            Reserve(Length + 1);
            if ((uint)token >= (uint)config.VocabSize) throw new ArgumentOutOfRangeException(nameof(token), $"token {token} is outside the vocabulary of {config.VocabSize}");
            int d = config.DModel;
            fixed (byte* table = decoder.embedding.bytes)
                new ReadOnlySpan<float>((float*)table + (long)token * d, d).CopyTo(x);
            for (int i = 0; i < decoder.layers.Length; i++) LayerStep(i, decoder.layers[i]);
            mirror?.Advance(1);
            RmsNorm(x, decoder.finalNorm, normed);
            fixed (float* n = normed, l = logits) decoder.head.Multiply(n, l, decoder.Threads);
            Length++;
            return logits;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void LayerStep(int index, Layer layer)
        {
            int pos = Length, queries = config.Heads * config.HeadDim, kv = config.KvHeads * config.HeadDim;
            RmsNorm(x, layer.InputNorm, normed);
            fixed (float* n = normed, o = qkv) layer.Qkv.Multiply(n, o, decoder.Threads);
            var q = qkv.AsSpan(0, queries);
            var k = qkv.AsSpan(queries, kv);
            var v = qkv.AsSpan(queries + kv, kv);
            Rotate(q, pos);
            Rotate(k, pos);
            for (int row = 0; row < kv; row++)
            {
                keys[index][row * stride + pos] = k[row];
                values[index][row * stride + pos] = v[row];
            }
            mirror?.Write(index, pos, k, v);
            Attend(index, q, pos + 1);
            fixed (float* a = attended, o = projected) layer.O.Multiply(a, o, decoder.Threads);
            TensorPrimitives.Add(x, projected, x);

            RmsNorm(x, layer.PostNorm, normed);
            fixed (float* n = normed, o = gateUp) layer.GateUp.Multiply(n, o, decoder.Threads);
            var gate = gateUp.AsSpan(0, config.FfnWidth);
            var up = gateUp.AsSpan(config.FfnWidth);
            // silu(g)·u = σ(g)·g·u, computed in place without another buffer.
            TensorPrimitives.Multiply(up, gate, up);
            TensorPrimitives.Sigmoid(gate, gate);
            TensorPrimitives.Multiply(gate, up, gate);
            fixed (float* g = gateUp, o = projected) layer.Down.Multiply(g, o, decoder.Threads);
            TensorPrimitives.Add(x, projected, x);
        }

        /// <summary>RMSNorm as the module computes it, in fp32: x / sqrt(mean(x²) + eps) · weight.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void RmsNorm(float[] input, Tensor weight, float[] output)
        {
            float inverse = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(input) / input.Length + (float)config.NormEps);
            TensorPrimitives.Multiply(input, inverse, output);
            fixed (byte* w = weight.bytes) TensorPrimitives.Multiply(output, new ReadOnlySpan<float>(w, input.Length), output);
        }

        /// <summary>RoPE in the half-split form at one position: (a, b) -> (a·cos - b·sin, b·cos + a·sin) per pair.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Rotate(Span<float> heads, int pos)
        {
            int hd = config.HeadDim, half = hd / 2;
            var c = cos.AsSpan(pos * hd, half);
            var s = sin.AsSpan(pos * hd, half);
            for (int h = 0; h < heads.Length; h += hd)
                for (int i = 0; i < half; i++)
                {
                    float a = heads[h + i], b = heads[h + half + i];
                    heads[h + i] = a * c[i] - b * s[i];
                    heads[h + half + i] = b * c[i] + a * s[i];
                }
        }

        /// <summary>Each query head attends over the first <paramref name="n"/> stored positions of its key/value head.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Attend(int layer, ReadOnlySpan<float> q, int n)
        {
            int hd = config.HeadDim, group = config.Heads / config.KvHeads;
            float scale = 1f / MathF.Sqrt(hd);
            var weights = scores.AsSpan(0, n);
            for (int h = 0; h < config.Heads; h++)
            {
                int kvBase = h / group * hd * stride;
                weights.Clear();
                for (int j = 0; j < hd; j++)
                    TensorPrimitives.MultiplyAdd(keys[layer].AsSpan(kvBase + j * stride, n), q[h * hd + j] * scale, weights, weights);
                TensorPrimitives.SoftMax(weights, weights);
                for (int j = 0; j < hd; j++)
                    attended[h * hd + j] = TensorPrimitives.Dot(weights, values[layer].AsSpan(kvBase + j * stride, n));
            }
        }
    }
}
