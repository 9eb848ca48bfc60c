namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>
/// Word dropout for the labelled practice batch (<see cref="PpoSettings.PracticeWordDropout"/>): each word of a prompt is left
/// out with a given probability, as deep averaging networks (Iyyer et al. 2015) drop words so that a classifier cannot lean on
/// one memorised phrase and must read the request's intent from whichever of its words remain.
/// </summary>
public static class WordDropout
{
    /// <summary>
    /// The prompt with each space-separated word dropped with probability <paramref name="rate"/>, drawn from
    /// <paramref name="random"/>; at least one word always stays. With rate 0 the text is returned unchanged and nothing is drawn.
    /// </summary>
    public static string Apply(string prompt, double rate, Random random)
    {
        if (rate <= 0) return prompt;
        var words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var kept = words.Where(_ => random.NextDouble() >= rate).ToList();
        return kept.Count > 0 ? string.Join(' ', kept) : words[random.Next(words.Length)];
    }
}
