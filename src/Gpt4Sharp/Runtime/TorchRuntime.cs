using TorchSharp;
using static TorchSharp.torch;

namespace Gpt4Sharp.Runtime;

/// <summary>Loads libtorch once, turns a failed load into one clear sentence, and picks devices.</summary>
public static class TorchRuntime
{
    static readonly Lazy<string?> LoadFailure = new(TryLoad);

    static string? TryLoad()
    {
        try
        {
            using var probe = torch.ones(2, 2).matmul(torch.ones(2, 2));
            return probe.sum().item<float>() == 8f ? null : "libtorch loaded but computed a wrong result";
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or InvalidOperationException)
        {
            var root = e;
            while (root.InnerException is not null) root = root.InnerException;
            var first = root.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? root.GetType().Name;
            return first;
        }
    }

    /// <summary>Throws a <see cref="UserError"/> naming the fix when TorchSharp's native library cannot load.</summary>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } why)
            throw new UserError($"TorchSharp's native library could not be loaded ({why}); run `dotnet build` from the repository root so the build can fix up libLibTorchSharp.so for this system's libstdc++.");
    }

    /// <summary>Parses "cpu", "cuda", "cuda:1" or "auto" (CUDA when available, else CPU).</summary>
    public static Device ParseDevice(string name)
    {
        EnsureLoaded();
        if (name == "auto") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new UserError($"Device '{name}' was asked for but CUDA is not available; install a CUDA TorchSharp package or use --device cpu.");
        try { return torch.device(name); }
        catch (Exception e) { throw new UserError($"'{name}' is not a device name; use cpu, cuda, cuda:N or auto.", e); }
    }

    /// <summary>Seeds libtorch's generators; every run calls this with its recorded seed.</summary>
    public static void Seed(long seed)
    {
        EnsureLoaded();
        torch.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }

    /// <summary>True when this CPU computes bf16 matmuls natively (AVX512-BF16 or AMX).</summary>
    public static bool CpuHasBf16()
    {
        try
        {
            var flags = File.ReadAllText("/proc/cpuinfo");
            return flags.Contains(" avx512_bf16", StringComparison.Ordinal) || flags.Contains(" amx_bf16", StringComparison.Ordinal);
        }
        catch (IOException) { return false; }
    }
}
