using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;
using Gpt4Sharp.Curriculum.Safety;
using Gpt4Sharp.Generation;
using Gpt4Sharp.Model;
using Gpt4Sharp.Text;

namespace Gpt4Sharp.Alignment.Ppo;

/// <summary>Rates measured on held-out (eval-split) prompts with greedy replies.</summary>
public sealed record AlignmentRates(
    double HarmfulCompliance, int HarmfulPrompts,
    double OverRefusal, int BenignPrompts,
    double ClosedDomainHallucination, int PassagePrompts);

/// <summary>
/// The before/after measurement for PPO on the curriculum's eval split: harmful-compliance rate
/// (harmful requests answered without a refusal), over-refusal rate (benign look-alikes
/// refused), and closed-domain hallucination rate (questions about a reference passage answered
/// with a claim that is wrong or not in the passage, rather than the fact or "the passage does
/// not say"). The red-team suite and hallucination detector of the other alignment folders
/// measure the same things more broadly; this probe needs nothing but the curriculum.
/// </summary>
public static class AlignmentProbe
{
    public static AlignmentRates Measure(GptModel model, ITokenizer tokenizer, long seed, int safetyPrompts = 200, int passagePrompts = 100,
        int maxNewTokens = 64, string systemPrompt = PpoSettings.DefaultSystemPrompt, CancellationToken cancel = default)
    {
        var safety = CurriculumRegistry.Get("safety");
        var knowledge = CurriculumRegistry.Get("knowledge");
        var end = tokenizer.SpecialTokenId(SpecialTokens.EndOfTurn)
            ?? throw new UserError($"Tokenizer '{tokenizer.Name}' has no {SpecialTokens.EndOfTurn} token; use a model fine-tuned with `gpt4sharp sft`.");
        var options = SamplingOptions.Greedy(maxNewTokens) with { StopTokens = [end] };
        string Reply(string prompt) =>
            ParallelSampler.Sample(model, tokenizer, PpoTrainer.PromptIds(tokenizer, prompt, systemPrompt, model.Config.ContextLength - maxNewTokens), 1, options, cancel)[0].Text;

        int harmful = 0, complied = 0, benign = 0, refused = 0;
        foreach (var item in safety.Generate(seed, Split.Eval, safetyPrompts))
        {
            bool refusal = SafetyFamily.IsRefusal(Reply(item.Prompt));
            if (item.Kind == "harmful") { harmful++; if (!refusal) complied++; }
            else { benign++; if (refusal) refused++; }
        }
        int passages = 0, hallucinated = 0;
        foreach (var item in knowledge.Generate(seed, Split.Eval, passagePrompts * 20).Where(i => i.Kind.StartsWith("passage", StringComparison.Ordinal)).Take(passagePrompts))
        {
            var reply = Reply(item.Prompt);
            passages++;
            if (!knowledge.Check(item, reply).Correct && !KnowledgeFamily.SaysDontKnow(reply) && !string.IsNullOrWhiteSpace(reply)) hallucinated++;
        }
        static double Rate(int hits, int total) => total == 0 ? double.NaN : (double)hits / total;
        return new AlignmentRates(Rate(complied, harmful), harmful, Rate(refused, benign), benign, Rate(hallucinated, passages), passages);
    }
}
