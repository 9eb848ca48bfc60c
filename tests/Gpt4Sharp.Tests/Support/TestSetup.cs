using System.Runtime.CompilerServices;
using TorchSharp;

namespace Gpt4Sharp.Tests.Support;

static class TestSetup
{
    /// <summary>
    /// xunit runs test classes in parallel on every core; libtorch adding its own thread per core
    /// on top oversubscribes the machine, and its OpenMP barriers then spin against each other
    /// (measured: 20x slower on 2 busy cores). One intra-op thread per test keeps the suite fast.
    /// </summary>
    [ModuleInitializer]
    internal static void OneTorchThreadPerTest() => torch.set_num_threads(1);
}
