using System.Globalization;

namespace Gpt4Sharp.Curriculum.Knowledge;

/// <summary>A fact slot: the attribute name, the question, and the sentence that states it.</summary>
public sealed record FactSlot(string Name, string Domain, string Question, string Statement);

/// <summary>One entity of the fictional world with its attribute values.</summary>
public sealed record Entity(string Name, string Type, IReadOnlyDictionary<string, string> Facts);

/// <summary>
/// A fixed fictional world of towns and people, built from its own constant seed so every
/// run, split and machine sees the same facts. Names are made from syllables; names for
/// "unknown entity" questions come from the same syllables but are checked to be absent.
/// </summary>
public sealed class FictionalWorld
{
    const int WorldSeed = 20_240_917;

    // Lazy: built after the static tables below are initialised.
    static readonly Lazy<FictionalWorld> World = new(() => new FictionalWorld());
    public static FictionalWorld Instance => World.Value;

    public static readonly string[] Countries = ["Ostrand", "Veluria", "Karsk", "Menhal", "Tirowen", "Baldessa", "Quorin", "Ysmere"];
    public static readonly string[] Rivers = ["Kessa", "Umber", "Lorn", "Vay", "Sithe", "Marro", "Dovel", "Ankh", "Pell", "Raske"];
    public static readonly string[] Products = ["glass", "salt", "wool", "clocks", "cheese", "silk", "paper", "bells", "maps", "honey"];
    public static readonly string[] Professions = ["painter", "sailor", "astronomer", "baker", "poet", "engineer", "healer", "cartographer", "weaver", "blacksmith"];

    static readonly string[] Syllables = ["ka", "lo", "mi", "ra", "ven", "dor", "sel", "tha", "bri", "mor", "quin", "zel", "ast", "ul", "fen", "gar", "is", "nor", "pel", "wyn", "ta", "ber", "sho", "vi"];

    public static readonly FactSlot[] TownAttributes =
    [
        new("country", "country", "In which country is {0}?", "{0} is a town in {1}."),
        new("river", "river", "Which river runs through {0}?", "The river {1} runs through {0}."),
        new("founded", "year", "In which year was {0} founded?", "{0} was founded in {1}."),
        new("known_for", "product", "What is {0} known for?", "{0} is known for its {1}."),
    ];

    public static readonly FactSlot[] PersonAttributes =
    [
        new("profession", "profession", "What does {0} do for a living?", "{0} is a {1}."),
        new("home", "town", "In which town does {0} live?", "{0} lives in {1}."),
        new("born", "year", "In which year was {0} born?", "{0} was born in {1}."),
    ];

    public IReadOnlyList<Entity> Towns { get; }
    public IReadOnlyList<Entity> People { get; }
    readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);

    FictionalWorld()
    {
        var rng = new ItemRng(WorldSeed);
        var towns = new List<Entity>();
        while (towns.Count < 40)
        {
            var name = NewName(rng, 2);
            if (!_names.Add(name)) continue;
            towns.Add(new Entity(name, "town", new Dictionary<string, string>
            {
                ["country"] = rng.Pick(Countries),
                ["river"] = rng.Pick(Rivers),
                ["founded"] = rng.Range(800, 1899).ToString(CultureInfo.InvariantCulture),
                ["known_for"] = rng.Pick(Products),
            }));
        }
        var people = new List<Entity>();
        while (people.Count < 60)
        {
            var name = NewName(rng, 2) + " " + NewName(rng, 2);
            if (!_names.Add(name)) continue;
            people.Add(new Entity(name, "person", new Dictionary<string, string>
            {
                ["profession"] = rng.Pick(Professions),
                ["home"] = rng.Pick(towns).Name,
                ["born"] = rng.Range(1900, 1999).ToString(CultureInfo.InvariantCulture),
            }));
        }
        Towns = towns;
        People = people;
    }

    static string NewName(ItemRng rng, int syllables)
    {
        var s = string.Concat(Enumerable.Range(0, syllables + rng.Next(2)).Select(_ => rng.Pick(Syllables)));
        return char.ToUpperInvariant(s[0]) + s[1..];
    }

    public bool Exists(string name) => _names.Contains(name);

    /// <summary>A name built like the world's names that belongs to no entity.</summary>
    public string UnknownName(ItemRng rng, string type)
    {
        while (true)
        {
            var name = type == "town" ? NewName(rng, 2) : NewName(rng, 2) + " " + NewName(rng, 2);
            if (!Exists(name)) return name;
        }
    }

    public static IReadOnlyList<FactSlot> AttributesOf(string type) => type == "town" ? TownAttributes : PersonAttributes;

    /// <summary>Every value an answer of this domain could name; a reply naming two of them is hedging.</summary>
    public IReadOnlyList<string> DomainValues(string domain) => domain switch
    {
        "country" => Countries,
        "river" => Rivers,
        "product" => Products,
        "profession" => Professions,
        "town" => Towns.Select(t => t.Name).ToList(),
        _ => [],
    };

    public static string Statement(Entity e, FactSlot a) => string.Format(CultureInfo.InvariantCulture, a.Statement, e.Name, e.Facts[a.Name]);

    public static string Profile(Entity e) => string.Join(" ", AttributesOf(e.Type).Select(a => Statement(e, a)));
}
