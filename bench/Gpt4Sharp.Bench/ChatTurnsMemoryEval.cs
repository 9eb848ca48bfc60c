using Gpt4Sharp.Evaluation.Memory;
using Gpt4Sharp.Runtime;
using TorchSharp;

namespace Gpt4Sharp.Bench;

/// <summary>
/// Fact recall across segments on the curriculum's dialogue task, the same recurrent model with and
/// without Transformer-XL memory (<see cref="MultiTurnMemory"/>), against chance.
/// Usage: memory-eval [training steps, default 3000] [eval items, default 200].
/// </summary>
public static class ChatTurnsMemoryEval
{
    public static int Run(string[] args)
    {
        var settings = new MultiTurnMemorySettings
        {
            Steps = args.Length > 0 ? int.Parse(args[0]) : 3000,
            EvalItems = args.Length > 1 ? int.Parse(args[1]) : 200,
        };
        torch.set_num_threads(1); // a model this small runs faster on one thread of a busy machine
        var recent = new Queue<float>();
        var r = MultiTurnMemory.Run(settings, new InlineProgress<(int Step, float Loss)>(p =>
        {
            recent.Enqueue(p.Loss);
            if (recent.Count > 100) recent.Dequeue();
            if (p.Step % 500 == 0) Console.WriteLine($"  step {p.Step,5}  reply loss {recent.Average():F3}");
        }), Console.WriteLine);
        Console.WriteLine($"trained in {r.TrainSeconds:F0} s (one thread)");
        Console.WriteLine();
        Console.WriteLine($"held-out dialogue items: {r.Items}; the fact lies before the question's {settings.Segment}-token segment in {r.FactOutsideLastSegment}");
        Console.WriteLine($"| {"model (same weights)",-34} | {"correct",7} | {"accuracy",8} |");
        Console.WriteLine($"|{new string('-', 36)}|{new string('-', 9)}|{new string('-', 10)}|");
        Console.WriteLine($"| {$"with memory ({settings.Memory} positions)",-34} | {r.CorrectWithMemory,7} | {100 * r.WithMemory,7:F1}% |");
        Console.WriteLine($"| {"memory cleared before each segment",-34} | {r.CorrectWithoutMemory,7} | {100 * r.WithoutMemory,7:F1}% |");
        Console.WriteLine($"| {"chance (guess among slot values)",-34} | {"",7} | {100 * r.Chance,7:F1}% |");
        return 0;
    }
}
