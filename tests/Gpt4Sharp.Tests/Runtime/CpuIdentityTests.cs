using System.Text.Json;
using Gpt4Sharp.Runs;
using Gpt4Sharp.Runtime;
using Gpt4Sharp.Tests.Support;

namespace Gpt4Sharp.Tests.Runtime;

public class CpuIdentityTests
{
    [Fact]
    public void Run_json_names_the_processor_its_vector_extensions_and_the_numerics_variables_set()
    {
        // CUBLAS_WORKSPACE_CONFIG changes nothing on a CPU, so setting it cannot disturb tests running alongside.
        Environment.SetEnvironmentVariable("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
        try
        {
            var dir = RepoPaths.NewTempDir();
            RunInfo.Capture("test", 1, null).Write(dir);
            var written = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "run.json"))).RootElement;

            var cpu = written.GetProperty("cpu").GetString();
            Assert.False(string.IsNullOrWhiteSpace(cpu));
            if (File.Exists("/proc/cpuinfo"))
                Assert.Contains(File.ReadLines("/proc/cpuinfo"), line => line.StartsWith("model name", StringComparison.Ordinal) && line.EndsWith(cpu!, StringComparison.Ordinal));
            var extensions = written.GetProperty("cpu_vector_extensions").EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported, extensions.Contains("avx2"));
            Assert.Equal(":4096:8", written.GetProperty("numerics_environment").GetProperty("CUBLAS_WORKSPACE_CONFIG").GetString());
            Assert.False(written.GetProperty("numerics_environment").TryGetProperty("NOT_A_NUMERICS_VARIABLE", out _));
        }
        finally { Environment.SetEnvironmentVariable("CUBLAS_WORKSPACE_CONFIG", null); }
    }

    [Fact]
    public void A_run_json_from_before_the_processor_fields_reads_back_with_them_null()
    {
        const string older = """
            {"command": "pretrain", "seed": 1337, "config": null, "started_utc": "2026-11-01T00:00:00Z", "git_commit": null,
             "gpt4_sharp_version": "1.0.0.0", "dotnet_version": "10.0.0", "torch_sharp_version": "0.107.0", "os": "Linux", "processor_count": 2}
            """;
        var run = JsonSerializer.Deserialize<RunInfo>(older, RunInfo.Json)!;
        Assert.Equal(1337, run.Seed);
        Assert.Null(run.Cpu);
        Assert.Null(run.CpuVectorExtensions);
        Assert.Null(run.NumericsEnvironment);
    }
}
