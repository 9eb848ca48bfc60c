using Gpt4Sharp.Runtime;
using TorchSharp;

namespace Gpt4Sharp.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void TorchSharp_loads_and_computes_matmul_attention_and_gradients()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, a.matmul(a).data<float>().ToArray());

        var q = torch.randn(1, 2, 4, 8);
        var att = torch.nn.functional.scaled_dot_product_attention(q, q, q, is_casual: true);
        Assert.Equal(new long[] { 1, 2, 4, 8 }, att.shape);

        var w = torch.ones(3, requires_grad: true);
        (w * w).sum().backward();
        Assert.Equal(new float[] { 2, 2, 2 }, w.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Unknown_device_is_one_clear_error()
    {
        var e = Assert.Throws<UserError>(() => TorchRuntime.ParseDevice("tpu"));
        Assert.Contains("not a device name", e.Message);
    }
}
