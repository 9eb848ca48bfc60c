namespace Gpt4Sharp.Vision;

/// <summary>
/// The batch order of the CLIP and VLM trainers: epochs of a fresh seeded shuffle, starting a new
/// epoch whenever the next batch would run past the end, so a batch never holds an item twice.
/// </summary>
sealed class ShuffledBatches(int count, long seed)
{
    // System.Random is enough: the order only has to repeat for a seed, not across .NET versions.
    readonly Random random = new((int)seed);
    readonly int[] order = Enumerable.Range(0, count).ToArray();
    int cursor = count;

    /// <summary>The indices of the next batch: <paramref name="batchSize"/> of them, or all items when there are fewer.</summary>
    public int[] Next(int batchSize)
    {
        if (cursor + batchSize > order.Length) { random.Shuffle(order); cursor = 0; }
        var batch = order.AsSpan(cursor, Math.Min(batchSize, order.Length)).ToArray();
        cursor += batch.Length;
        return batch;
    }
}
