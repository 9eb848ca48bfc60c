using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Gpt4Sharp.Runtime;

/// <summary>
/// What decides a CPU run's floating-point results besides its seed and settings. libtorch picks its kernels by the
/// processor's vector extensions (AVX-512, AVX2 or neither), so one pretraining command, bitwise repeatable on one
/// machine at any thread count, trains a different model on a machine with other extensions (measured: AVX2 and
/// AVX-512 kernels on the same machine part after the first steps). run.json records these so a reader can tell
/// a machine's difference from a code change.
/// </summary>
public static class CpuIdentity
{
    /// <summary>
    /// Environment variables that change which kernels or how many threads a run uses: libtorch's kernel choice,
    /// MKL's reproducibility mode and instruction cap, the thread counts, cuBLAS's deterministic workspace.
    /// </summary>
    public static readonly IReadOnlyList<string> NumericsVariables =
        ["ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUBLAS_WORKSPACE_CONFIG"];

    /// <summary>The processor's marketing name (Linux's /proc/cpuinfo), or its architecture where that is not readable.</summary>
    public static string Name()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and >= 0)
                    return line[(colon + 1)..].Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>
    /// The vector extensions libtorch and MKL choose kernels by, as the .NET runtime sees them (the same CPUID bits,
    /// and on any operating system, unlike /proc/cpuinfo).
    /// </summary>
    public static IReadOnlyList<string> VectorExtensions()
    {
        var found = new List<string>();
        void Add(bool supported, string name) { if (supported) found.Add(name); }
        Add(Avx512F.IsSupported, "avx512f");
        Add(Avx512BW.IsSupported, "avx512bw");
        Add(Avx512DQ.IsSupported, "avx512dq");
        Add(Avx512F.VL.IsSupported, "avx512vl");
        Add(Avx2.IsSupported, "avx2");
        Add(Fma.IsSupported, "fma");
        Add(AdvSimd.IsSupported, "neon");
        return found;
    }

    /// <summary>The <see cref="NumericsVariables"/> this process was started with (only those set).</summary>
    public static IReadOnlyDictionary<string, string> NumericsEnvironment() =>
        NumericsVariables.Where(v => Environment.GetEnvironmentVariable(v) is not null)
            .ToDictionary(v => v, v => Environment.GetEnvironmentVariable(v)!);
}
