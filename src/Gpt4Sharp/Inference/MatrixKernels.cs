using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Inference;

/// <summary>A weight matrix W [rows, cols] that multiplies one activation vector: y = W x.</summary>
public abstract class DecodeMatrix
{
    protected DecodeMatrix(int rows, int cols) => (Rows, Cols) = (rows, cols);

    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Bytes read per product (what bounds batch-1 decoding once the weights leave the cache).</summary>
    public abstract long WeightBytes { get; }

    /// <summary>y[r] = dot(W[r], x) for every row, on up to <paramref name="threads"/> threads; x has <see cref="Cols"/> values, y <see cref="Rows"/>.</summary>
    public unsafe void Multiply(float* x, float* y, int threads)
    {
        // Splitting across threads pays only when a product is large enough to hide the hand-off
        // (a few microseconds): the small matrices of a 3M model run on the calling thread.
        long work = (long)Rows * Cols;
        int parts = work < ParallelThreshold ? 1 : Math.Min(threads, Rows / 64);
        if (parts <= 1) { MultiplyRows(x, y, 0, Rows); return; }
        nint xp = (nint)x, yp = (nint)y;
        int chunk = (Rows + parts - 1) / parts;
        ProductWorkers.Shared.Run(parts, part =>
        {
            int start = part * chunk;
            MultiplyRows((float*)xp, (float*)yp, start, Math.Min(Rows, start + chunk));
        });
    }

    const long ParallelThreshold = 1 << 18;

    /// <summary>Multiplies one row range; <see cref="StackedMatrix"/> forwards to its parts through this.</summary>
    internal unsafe void MultiplyRange(float* x, float* y, int start, int end) => MultiplyRows(x, y, start, end);

    protected abstract unsafe void MultiplyRows(float* x, float* y, int start, int end);
}

/// <summary>
/// Matrices that read the same input, stacked by rows (q, k and v; gate and up) without copying:
/// one product, so one split across threads instead of one per matrix. Output rows follow the
/// parts' order.
/// </summary>
public sealed class StackedMatrix : DecodeMatrix
{
    readonly DecodeMatrix[] parts;
    readonly int[] offsets; // first output row of each part

    public StackedMatrix(params DecodeMatrix[] parts) : base(parts.Sum(p => p.Rows), parts[0].Cols)
    {
        if (parts.Any(p => p.Cols != Cols)) throw new ArgumentException("Stacked matrices must share their input width.", nameof(parts));
        this.parts = parts;
        offsets = new int[parts.Length];
        for (int i = 1; i < parts.Length; i++) offsets[i] = offsets[i - 1] + parts[i - 1].Rows;
    }

    public override long WeightBytes => parts.Sum(p => p.WeightBytes);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: skip the JIT's unoptimised tier
    protected override unsafe void MultiplyRows(float* x, float* y, int start, int end)
    {
        for (int i = 0; i < parts.Length; i++)
        {
            int from = Math.Max(start, offsets[i]), to = Math.Min(end, offsets[i] + parts[i].Rows);
            if (from < to) parts[i].MultiplyRange(x, y + offsets[i], from - offsets[i], to - offsets[i]);
        }
    }
}

/// <summary>
/// fp32 weights read in place from the model's parameter tensor (no copy, so the decoder always
/// sees the current weights). Rows are read one after another, which keeps the hardware
/// prefetcher on one stream when weights come from memory (interleaving four rows halved the
/// bandwidth on the benchmark machine). The row dot product is written here rather than called
/// through TensorPrimitives.Dot because at these widths the call costs about as much as the
/// arithmetic; widths that are not a multiple of 32, and machines without AVX2/FMA, use it.
/// </summary>
public sealed class Fp32Matrix : DecodeMatrix
{
    readonly Tensor weight; // owned by the model

    public Fp32Matrix(Tensor weight) : base((int)weight.shape[0], (int)weight.shape[1])
    {
        if (weight.dtype != ScalarType.Float32 || weight.device_type != DeviceType.CPU || !weight.is_contiguous())
            throw new ArgumentException("The CPU decoder reads contiguous fp32 CPU weights.", nameof(weight));
        this.weight = weight;
    }

    public override long WeightBytes => (long)Rows * Cols * 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: skip the JIT's unoptimised tier
    protected override unsafe void MultiplyRows(float* x, float* y, int start, int end)
    {
        fixed (byte* bytes = weight.bytes)
        {
            var w = (float*)bytes;
            if (Avx.IsSupported && Fma.IsSupported && Cols % 32 == 0)
            {
                for (int r = start; r < end; r++) y[r] = Dot(w + (long)r * Cols, x, Cols);
                return;
            }
            var input = new ReadOnlySpan<float>(x, Cols);
            for (int r = start; r < end; r++) y[r] = TensorPrimitives.Dot(new ReadOnlySpan<float>(w + (long)r * Cols, Cols), input);
        }
    }

    /// <summary>Four accumulators, so the multiply-adds of one row do not wait on each other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float Dot(float* w, float* x, int n)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < n; j += 32)
        {
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(w + j), Avx.LoadVector256(x + j), a0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(w + j + 8), Avx.LoadVector256(x + j + 8), a1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(w + j + 16), Avx.LoadVector256(x + j + 16), a2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(w + j + 24), Avx.LoadVector256(x + j + 24), a3);
        }
        return Vector256.Sum(a0 + a1 + (a2 + a3));
    }
}

/// <summary>
/// int8 weights with one fp32 scale per row (the scheme of <see cref="Quantization.Int8Quantization"/>).
/// With AVX2 the input is quantised too, to int8 in blocks of 32 with one scale each (as
/// llama.cpp's Q8_0 does), and each block's products are summed in integers:
/// y[r] = w_scale[r] · Σ_b x_scale[b] · Σ_{j in b} w[r, j] · x_q[j]. Neither TorchSharp nor
/// System.Numerics.Tensors multiplies int8 matrices, so this kernel is written here. A quarter of
/// fp32's bytes cross the memory bus and 32 multiply-adds take a handful of instructions, which
/// is what makes int8 faster than fp32. Without AVX2 (or for widths not a multiple of 32) the
/// weights are widened to fp32 instead.
/// </summary>
public sealed class Int8Matrix : DecodeMatrix
{
    const int Block = 32;
    readonly sbyte[] values;
    readonly float[] scales;

    public Int8Matrix(sbyte[] values, float[] scales, int cols) : base(scales.Length, cols)
    {
        if (values.Length != (long)scales.Length * cols) throw new ArgumentException("values must hold rows x cols entries.", nameof(values));
        (this.values, this.scales) = (values, scales);
    }

    /// <summary>Quantises an fp32 matrix [rows, cols] per row, exactly as an int8 checkpoint stores it.</summary>
    public static Int8Matrix Quantize(Tensor weight)
    {
        var (q, s) = Quantization.Int8Quantization.Quantize(weight);
        using (q)
        using (s)
            return new Int8Matrix(q.data<sbyte>().ToArray(), s.data<float>().ToArray(), (int)weight.shape[1]);
    }

    public override long WeightBytes => values.LongLength + scales.LongLength * 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: skip the JIT's unoptimised tier
    protected override unsafe void MultiplyRows(float* x, float* y, int start, int end)
    {
        fixed (sbyte* q = values)
        {
            if (!Avx2.IsSupported || !Fma.IsSupported || Cols % Block != 0)
            {
                for (int r = start; r < end; r++) y[r] = scales[r] * WidenedDot(q + (long)r * Cols, x, Cols);
                return;
            }
            // Each thread quantises the input for its own rows: Cols values, cheap next to Rows x Cols.
            sbyte* input = stackalloc sbyte[Cols];
            float* inputScales = stackalloc float[Cols / Block];
            QuantizeBlocks(new ReadOnlySpan<float>(x, Cols), new Span<sbyte>(input, Cols), new Span<float>(inputScales, Cols / Block));
            for (int r = start; r < end; r++) y[r] = scales[r] * BlockDot(q + (long)r * Cols, input, inputScales, Cols / Block);
        }
    }

    /// <summary>Symmetric int8 per block of 32: scale = max|x| / 127, q = round(x / scale).</summary>
    static void QuantizeBlocks(ReadOnlySpan<float> x, Span<sbyte> q, Span<float> blockScales)
    {
        Span<float> scaled = stackalloc float[Block];
        for (int b = 0; b < blockScales.Length; b++)
        {
            var block = x.Slice(b * Block, Block);
            float scale = Math.Abs(TensorPrimitives.MaxMagnitude(block)) / 127f;
            blockScales[b] = scale;
            TensorPrimitives.Multiply(block, scale > 0 ? 1f / scale : 0f, scaled);
            TensorPrimitives.Round(scaled, scaled);
            TensorPrimitives.ConvertSaturating<float, sbyte>(scaled, q.Slice(b * Block, Block));
        }
    }

    /// <summary>Σ_b scale[b] · (int8 block dot): sign tricks make |w| unsigned for vpmaddubsw, whose 16-bit pair sums cannot overflow at |values| ≤ 127.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float BlockDot(sbyte* w, sbyte* x, float* blockScales, int blocks)
    {
        var ones = Vector256.Create((short)1);
        Vector256<float> even = Vector256<float>.Zero, odd = Vector256<float>.Zero; // two chains hide the FMA latency
        int b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            even = Fma.MultiplyAdd(BlockProducts(w + b * Block, x + b * Block, ones), Vector256.Create(blockScales[b]), even);
            odd = Fma.MultiplyAdd(BlockProducts(w + (b + 1) * Block, x + (b + 1) * Block, ones), Vector256.Create(blockScales[b + 1]), odd);
        }
        if (b < blocks) even = Fma.MultiplyAdd(BlockProducts(w + b * Block, x + b * Block, ones), Vector256.Create(blockScales[b]), even);
        var sum = even + odd;
        return Vector256.Sum(sum);
    }

    /// <summary>32 int8 products summed in pairs, then in fours: eight int32 partial sums as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> BlockProducts(sbyte* w, sbyte* x, Vector256<short> ones)
    {
        var wv = Avx.LoadVector256(w);
        var pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(wv, wv).AsByte(), Avx2.Sign(Avx.LoadVector256(x), wv));
        return Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(pairs, ones));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float WidenedDot(sbyte* w, float* x, int n)
    {
        int i = 0;
        float sum = 0;
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w + i)), Avx.LoadVector256(x + i), a0);
                a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w + i + 8)), Avx.LoadVector256(x + i + 8), a1);
            }
            sum = Vector256.Sum(a0 + a1);
        }
        for (; i < n; i++) sum += w[i] * x[i];
        return sum;
    }
}
