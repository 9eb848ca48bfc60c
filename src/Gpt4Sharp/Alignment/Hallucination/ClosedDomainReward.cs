using Gpt4Sharp.Curriculum;
using Gpt4Sharp.Curriculum.Knowledge;

namespace Gpt4Sharp.Alignment.Hallucination;

/// <summary>
/// A rule-based reward for closed-domain questions, the hallucination counterpart of the rule-based reward model's
/// safety rubric: on a knowledge practice prompt whose answer the fictional world fixes, the knowledge family's checker
/// judges the reply. A right answer (a declined question about an entity that does not exist, a passage's stated value,
/// "the passage does not say" where it does not) earns +1, a decline of an answerable question 0 (abstaining beats
/// inventing), anything else −1 (an invented value, a refusal, an off-topic or garbled reply). Other prompts get 0.
/// Why it exists: the learned reward model ranks a decline above an invented answer on held-out pairs but by a fraction
/// of a standard deviation (`rm score`), far below the rubric's two points between a refusal and disallowed content, so
/// PPO's pressure on safety prompts drowns it. The prompts it knows are the training-split items PPO practises on, never
/// held-out ones, so held-out hallucination rates still measure generalisation. It can be kept to some kinds of question
/// (for example the passages alone), because its 0 for declining an answerable closed-book question against −1 for a
/// wrong answer teaches a model that knows few facts to decline most of them (docs/alignment-rounds.md, round 25).
/// </summary>
public sealed class ClosedDomainReward : IRewardScorer
{
    readonly KnowledgeFamily _family = new();
    readonly Dictionary<string, CurriculumItem> _items;
    readonly double _weight;

    /// <param name="practice">The training-split knowledge items PPO practises on (their prompts are looked up verbatim).</param>
    /// <param name="weight">Multiplies every reward.</param>
    /// <param name="kinds">The kinds of question it judges (<see cref="KnowledgeFamily.QuestionKinds"/>; null: all of them).</param>
    public ClosedDomainReward(IEnumerable<CurriculumItem> practice, double weight = 1.0, IReadOnlyCollection<string>? kinds = null)
    {
        kinds ??= KnowledgeFamily.QuestionKinds;
        if (kinds.FirstOrDefault(k => !KnowledgeFamily.QuestionKinds.Contains(k)) is { } unknown)
            throw new UserError($"The closed-domain reward judges the knowledge questions {string.Join(", ", KnowledgeFamily.QuestionKinds)}, not '{unknown}'.");
        Kinds = [.. KnowledgeFamily.QuestionKinds.Where(kinds.Contains)];
        _items = [];
        foreach (var item in practice.Where(i => i.Family == _family.Name && kinds.Contains(i.Kind) && i.Split == Split.Train))
            _items.TryAdd(item.Prompt, item);
        _weight = weight;
    }

    public string Name => "closed_domain";

    /// <summary>The same reward for the same verdict on every prompt, like the rubric's.</summary>
    public bool ComparableAcrossPrompts => true;

    /// <summary>The kinds of knowledge question it judges, in the family's order.</summary>
    public IReadOnlyList<string> Kinds { get; }

    /// <summary>Knowledge practice prompts this reward judges.</summary>
    public int Prompts => _items.Count;

    public IReadOnlyList<double> Score(IReadOnlyList<(string Prompt, string Response)> pairs) =>
        [.. pairs.Select(p => _items.TryGetValue(p.Prompt, out var item) ? _weight * Judge(item, p.Response) : 0.0)];

    double Judge(CurriculumItem item, string reply)
    {
        if (_family.Check(item, reply).Correct) return 1.0;
        bool answerable = item.Answer is not (KnowledgeFamily.DontKnow or KnowledgeFamily.NotInPassage);
        return answerable && KnowledgeFamily.SaysDontKnow(reply) ? 0.0 : -1.0;
    }
}
