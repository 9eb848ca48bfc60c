using Gpt4Sharp.Runtime;
using static TorchSharp.torch;

namespace Gpt4Sharp.Bench;

public static class MatmulBench
{
    public static int Run(string[] args)
    {
        Console.WriteLine($"threads: {TorchSharp.torch.get_num_threads()}");
        Console.WriteLine($"fp32 1024² matmul: {MatmulPeak.Measure(ScalarType.Float32) / 1e9:F0} GFLOP/s");
        Console.WriteLine($"bf16 1024² matmul: {MatmulPeak.Measure(ScalarType.BFloat16) / 1e9:F0} GFLOP/s");
        return 0;
    }
}
