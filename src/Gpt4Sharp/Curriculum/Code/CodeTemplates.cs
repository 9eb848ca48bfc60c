using System.Text;

namespace Gpt4Sharp.Curriculum.Code;

/// <summary>
/// One generated programming task before formatting: the template and its parameters
/// (the canonical problem), the Python signature, docstring and reference body, and test
/// cases whose expected values come from a separate C# implementation, so running the
/// tests cross-checks the two.
/// </summary>
internal sealed record CodeSpec(string Template, int Tier, string Params, string Entry, string Signature,
    string Doc, string Body, IReadOnlyList<(object?[] Args, object? Expected)> Cases);

/// <summary>
/// The task templates, in three tiers: easy string/list operations, medium classic
/// algorithms, hard dynamic programming and graphs. Every template takes at least one
/// parameter from the generator so the train/eval wall splits each template's space.
/// </summary>
internal static class CodeTemplates
{
    public static readonly (string Name, int Tier, Func<ItemRng, CodeSpec> Make)[] All =
    [
        ("add_constant", 1, AddConstant), ("count_char", 1, CountChar), ("reverse_words", 1, ReverseWords),
        ("keep_greater", 1, KeepGreater), ("sum_multiples", 1, SumMultiples), ("pad_words", 1, PadWords),
        ("spread", 1, Spread), ("is_palindrome", 1, IsPalindrome), ("repeat_join", 1, RepeatJoin),
        ("count_vowels", 1, CountVowels), ("every_nth", 1, EveryNth), ("replace_char", 1, ReplaceChar),
        ("prime_count", 2, PrimeCount), ("gcd_scaled", 2, GcdScaled), ("fib_mod", 2, FibMod),
        ("run_length", 2, RunLength), ("kth_largest", 2, KthLargest), ("caesar", 2, Caesar),
        ("binary_search", 2, BinarySearch), ("digit_power_sum", 2, DigitPowerSum), ("balanced", 2, Balanced),
        ("rotate", 2, Rotate), ("merge_sorted", 2, MergeSorted),
        ("lis_length", 3, LisLength), ("edit_distance", 3, EditDistance), ("coin_ways", 3, CoinWays),
        ("min_coins", 3, MinCoins), ("shortest_path", 3, ShortestPath), ("count_islands", 3, CountIslands),
        ("knapsack", 3, Knapsack), ("lcs_length", 3, LcsLength), ("grid_paths", 3, GridPaths),
        ("has_cycle", 3, HasCycle), ("max_window_sum", 3, MaxWindowSum),
    ];

    const string Letters = "abcdefghijklmnopqrstuvwxyz";

    // ---- helpers -------------------------------------------------------------------------

    static CodeSpec Make<TA, TR>(string name, int tier, string param, string entry, string sig, string doc, string body,
        Func<TA, TR> reference, IEnumerable<TA> inputs) =>
        new(name, tier, param, entry, sig, doc, body,
            inputs.Select(a => (new object?[] { a }, (object?)reference(a))).ToList());

    static CodeSpec Make<TA, TB, TR>(string name, int tier, string param, string entry, string sig, string doc, string body,
        Func<TA, TB, TR> reference, IEnumerable<(TA, TB)> inputs) =>
        new(name, tier, param, entry, sig, doc, body,
            inputs.Select(a => (new object?[] { a.Item1, a.Item2 }, (object?)reference(a.Item1, a.Item2))).ToList());

    static IEnumerable<T> Cases<T>(ItemRng r, Func<ItemRng, T> one, int n = 5) =>
        Enumerable.Range(0, n).Select(_ => one(r)).ToList();

    static List<int> Ints(ItemRng r, int minLen, int maxLen, int lo, int hi) =>
        Enumerable.Range(0, r.Range(minLen, maxLen)).Select(_ => r.Range(lo, hi)).ToList();

    static string Word(ItemRng r, int minLen, int maxLen, string alphabet = Letters) =>
        new(Enumerable.Range(0, r.Range(minLen, maxLen)).Select(_ => alphabet[r.Next(alphabet.Length)]).ToArray());

    static string Sentence(ItemRng r) =>
        string.Join(' ', Enumerable.Range(0, r.Range(1, 5)).Select(_ => Word(r, 1, 6)));

    // ---- easy: strings and lists ---------------------------------------------------------

    static CodeSpec AddConstant(ItemRng r)
    {
        var k = r.Range(1, 20);
        return Make("add_constant", 1, $"k={k}", "add_constant", "def add_constant(xs: list[int]) -> list[int]:",
            $"Return a new list with {k} added to every element of xs.", $"return [x + {k} for x in xs]",
            (List<int> xs) => xs.Select(x => x + k).ToList(), Cases(r, q => Ints(q, 0, 6, -20, 20)));
    }

    static CodeSpec CountChar(ItemRng r)
    {
        var c = Letters[r.Next(6)];
        return Make("count_char", 1, $"c={c}", "count_char", "def count_char(s: str) -> int:",
            $"Count how many times the letter '{c}' occurs in s.", $"return s.count('{c}')",
            (string s) => s.Count(x => x == c), Cases(r, q => Word(q, 0, 12, "abcdef")));
    }

    static CodeSpec ReverseWords(ItemRng r)
    {
        var sep = r.Pick(new[] { " ", "-", "," });
        return Make("reverse_words", 1, $"sep={sep}", "reverse_words", "def reverse_words(s: str) -> str:",
            $"Split s on single spaces and join the words in reverse order with '{sep}'.", $"return '{sep}'.join(reversed(s.split(' ')))",
            (string s) => string.Join(sep, s.Split(' ').Reverse()), Cases(r, Sentence));
    }

    static CodeSpec KeepGreater(ItemRng r)
    {
        var t = r.Range(-5, 10);
        return Make("keep_greater", 1, $"t={t}", "keep_greater", "def keep_greater(xs: list[int]) -> list[int]:",
            $"Return the elements of xs that are strictly greater than {t}, in their original order.", $"return [x for x in xs if x > {t}]",
            (List<int> xs) => xs.Where(x => x > t).ToList(), Cases(r, q => Ints(q, 0, 8, -10, 20)));
    }

    static CodeSpec SumMultiples(ItemRng r)
    {
        var a = r.Range(2, 5);
        var b = r.Range(a + 1, 9);
        return Make("sum_multiples", 1, $"a={a},b={b}", "sum_multiples", "def sum_multiples(n: int) -> int:",
            $"Return the sum of all positive integers below n that are divisible by {a} or by {b}.",
            $"return sum(i for i in range(1, n) if i % {a} == 0 or i % {b} == 0)",
            (int n) => Enumerable.Range(1, Math.Max(0, n - 1)).Where(i => i % a == 0 || i % b == 0).Sum(), Cases(r, q => q.Range(0, 60)));
    }

    static CodeSpec PadWords(ItemRng r)
    {
        var w = r.Range(3, 8);
        return Make("pad_words", 1, $"w={w}", "pad_words", "def pad_words(words: list[str]) -> list[str]:",
            $"Pad every word on the right with '.' to length {w}; longer words are cut to {w} characters.",
            $"return [(w + '.' * {w})[:{w}] for w in words]",
            (List<string> ws) => ws.Select(x => (x + new string('.', w))[..w]).ToList(),
            Cases(r, q => Enumerable.Range(0, q.Range(0, 4)).Select(_ => Word(q, 0, 10)).ToList()));
    }

    static CodeSpec Spread(ItemRng r)
    {
        var k = r.Range(1, 5);
        return Make("spread", 1, $"k={k}", "spread", "def spread(xs: list[int]) -> int:",
            $"Return {k} times the difference between the largest and the smallest element of xs (xs is not empty).",
            $"return {k} * (max(xs) - min(xs))",
            (List<int> xs) => k * (xs.Max() - xs.Min()), Cases(r, q => Ints(q, 1, 7, -30, 30)));
    }

    static CodeSpec IsPalindrome(ItemRng r)
    {
        var ignore = r.Pick(new[] { " ", "-", "_" });
        return Make("is_palindrome", 1, $"ignore={ignore}", "is_palindrome", "def is_palindrome(s: str) -> bool:",
            $"Return True if s reads the same backwards, ignoring case and every '{ignore}' character.",
            $"t = s.lower().replace('{ignore}', '')\nreturn t == t[::-1]",
            (string s) => { var t = s.ToLowerInvariant().Replace(ignore, ""); return t == new string(t.Reverse().ToArray()); },
            Cases(r, q =>
            {
                var half = Word(q, 0, 4, "abAB" + ignore);
                return q.Chance(0.5) ? half + new string(half.Reverse().ToArray()) : half + Word(q, 1, 3, "abc");
            }));
    }

    static CodeSpec RepeatJoin(ItemRng r)
    {
        var k = r.Range(2, 4);
        var sep = r.Pick(new[] { "+", "/", "|", ":" });
        return Make("repeat_join", 1, $"k={k},sep={sep}", "repeat_join", "def repeat_join(s: str) -> str:",
            $"Return s repeated {k} times, the copies separated by '{sep}'.", $"return '{sep}'.join([s] * {k})",
            (string s) => string.Join(sep, Enumerable.Repeat(s, k)), Cases(r, q => Word(q, 0, 5)));
    }

    static CodeSpec CountVowels(ItemRng r)
    {
        var withY = r.Chance(0.5);
        var vowels = withY ? "aeiouy" : "aeiou";
        return Make("count_vowels", 1, $"vowels={vowels}", "count_vowels", "def count_vowels(s: str) -> int:",
            $"Count the characters of s that are one of '{vowels}', ignoring case.",
            $"return sum(1 for c in s.lower() if c in '{vowels}')",
            (string s) => s.ToLowerInvariant().Count(vowels.Contains), Cases(r, q => Word(q, 0, 12, "abeiouyxzAEY")));
    }

    static CodeSpec EveryNth(ItemRng r)
    {
        var k = r.Range(2, 4);
        return Make("every_nth", 1, $"k={k}", "every_nth", "def every_nth(xs: list[int]) -> list[int]:",
            $"Return the elements of xs at indices 0, {k}, {2 * k}, ...", $"return xs[::{k}]",
            (List<int> xs) => xs.Where((_, i) => i % k == 0).ToList(), Cases(r, q => Ints(q, 0, 10, 0, 9)));
    }

    static CodeSpec ReplaceChar(ItemRng r)
    {
        var a = Letters[r.Next(5)];
        var b = r.Pick(new[] { '*', '#', '_' });
        return Make("replace_char", 1, $"a={a},b={b}", "replace_char", "def replace_char(s: str) -> str:",
            $"Return s with every '{a}' replaced by '{b}'.", $"return s.replace('{a}', '{b}')",
            (string s) => s.Replace(a, b), Cases(r, q => Word(q, 0, 10, "abcde")));
    }

    // ---- medium: classic algorithms ------------------------------------------------------

    static CodeSpec PrimeCount(ItemRng r)
    {
        var lo = r.Range(0, 20);
        return Make("prime_count", 2, $"lo={lo}", "prime_count", "def prime_count(n: int) -> int:",
            $"Return how many prime numbers p satisfy {lo} <= p <= n.",
            $"def is_prime(m):\n    if m < 2:\n        return False\n    d = 2\n    while d * d <= m:\n        if m % d == 0:\n            return False\n        d += 1\n    return True\nreturn sum(1 for p in range({lo}, n + 1) if is_prime(p))",
            (int n) => Enumerable.Range(lo, Math.Max(0, n - lo + 1)).Count(IsPrime), Cases(r, q => q.Range(0, 120)));
    }

    static bool IsPrime(int m)
    {
        if (m < 2) return false;
        for (var d = 2; d * d <= m; d++) if (m % d == 0) return false;
        return true;
    }

    static CodeSpec GcdScaled(ItemRng r)
    {
        var k = r.Range(1, 4);
        return Make("gcd_scaled", 2, $"k={k}", "gcd_scaled", "def gcd_scaled(xs: list[int]) -> int:",
            $"Return {k} times the greatest common divisor of the positive integers in xs (xs is not empty).",
            $"g = 0\nfor x in xs:\n    a, b = g, x\n    while b:\n        a, b = b, a % b\n    g = a\nreturn {k} * g",
            (List<int> xs) => k * xs.Aggregate(0, Gcd), Cases(r, q => { var f = q.Range(1, 6); return Ints(q, 1, 5, 1, 12).Select(x => x * f).ToList(); }));
    }

    static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    static CodeSpec FibMod(ItemRng r)
    {
        var m = r.Range(5, 100);
        return Make("fib_mod", 2, $"m={m}", "fib_mod", "def fib_mod(n: int) -> int:",
            $"Return F(n) modulo {m}, where F(0) = 0, F(1) = 1 and F(n) = F(n-1) + F(n-2).",
            $"a, b = 0, 1\nfor _ in range(n):\n    a, b = b, (a + b) % {m}\nreturn a % {m}",
            (int n) => { int a = 0, b = 1; for (var i = 0; i < n; i++) (a, b) = (b, (a + b) % m); return a % m; },
            Cases(r, q => q.Range(0, 90)));
    }

    static CodeSpec RunLength(ItemRng r)
    {
        var sep = r.Pick(new[] { "", ":", "x" });
        return Make("run_length", 2, $"sep={sep}", "run_length", "def run_length(s: str) -> str:",
            $"Run-length encode s: each maximal run of one character becomes the character, then '{sep}', then the run length (e.g. 'aab' -> 'a{sep}2b{sep}1').",
            $"out = []\ni = 0\nwhile i < len(s):\n    j = i\n    while j < len(s) and s[j] == s[i]:\n        j += 1\n    out.append(s[i] + '{sep}' + str(j - i))\n    i = j\nreturn ''.join(out)",
            (string s) =>
            {
                var sb = new StringBuilder();
                for (var i = 0; i < s.Length;)
                {
                    var j = i;
                    while (j < s.Length && s[j] == s[i]) j++;
                    sb.Append(s[i]).Append(sep).Append(j - i);
                    i = j;
                }
                return sb.ToString();
            }, Cases(r, q => Word(q, 0, 10, "aab")));
    }

    static CodeSpec KthLargest(ItemRng r)
    {
        var k = r.Range(1, 3);
        return Make("kth_largest", 2, $"k={k}", "kth_largest", "def kth_largest(xs: list[int]) -> int:",
            $"Return the {k}-th largest distinct value in xs, or -1 if xs has fewer than {k} distinct values.",
            $"d = sorted(set(xs), reverse=True)\nreturn d[{k - 1}] if len(d) >= {k} else -1",
            (List<int> xs) => { var d = xs.Distinct().OrderDescending().ToList(); return d.Count >= k ? d[k - 1] : -1; },
            Cases(r, q => Ints(q, 0, 7, 0, 6)));
    }

    static CodeSpec Caesar(ItemRng r)
    {
        var k = r.Range(1, 25);
        return Make("caesar", 2, $"k={k}", "caesar", "def caesar(s: str) -> str:",
            $"Shift every lowercase letter of s forward by {k} places in the alphabet, wrapping from z to a; leave other characters unchanged.",
            $"return ''.join(chr((ord(c) - 97 + {k}) % 26 + 97) if 'a' <= c <= 'z' else c for c in s)",
            (string s) => new string(s.Select(c => c is >= 'a' and <= 'z' ? (char)((c - 'a' + k) % 26 + 'a') : c).ToArray()),
            Cases(r, q => Word(q, 0, 10, "abcxyz !A")));
    }

    static CodeSpec BinarySearch(ItemRng r)
    {
        var missing = r.Range(-3, -1);
        return Make("binary_search", 2, $"missing={missing}", "binary_search", "def binary_search(xs: list[int], target: int) -> int:",
            $"xs is sorted ascending with distinct values. Return the index of target in xs, or {missing} if it is absent.",
            $"lo, hi = 0, len(xs) - 1\nwhile lo <= hi:\n    mid = (lo + hi) // 2\n    if xs[mid] == target:\n        return mid\n    if xs[mid] < target:\n        lo = mid + 1\n    else:\n        hi = mid - 1\nreturn {missing}",
            (List<int> xs, int t) => { var i = xs.IndexOf(t); return i >= 0 ? i : missing; },
            Cases(r, q => { var xs = Ints(q, 0, 8, 0, 30).Distinct().Order().ToList(); return (xs, q.Range(0, 30)); }));
    }

    static CodeSpec DigitPowerSum(ItemRng r)
    {
        var p = r.Range(1, 4);
        return Make("digit_power_sum", 2, $"p={p}", "digit_power_sum", "def digit_power_sum(n: int) -> int:",
            $"Return the sum of the decimal digits of the non-negative integer n, each raised to the power {p}.",
            $"return sum(int(d) ** {p} for d in str(n))",
            (int n) => n.ToString().Sum(d => (int)Math.Pow(d - '0', p)), Cases(r, q => q.Range(0, 99999)));
    }

    static CodeSpec Balanced(ItemRng r)
    {
        var pairs = r.Pick(new[] { "()", "()[]", "()[]{}", "[]{}" });
        var opens = new string(pairs.Where((_, i) => i % 2 == 0).ToArray());
        var closes = new string(pairs.Where((_, i) => i % 2 == 1).ToArray());
        return Make("balanced", 2, $"pairs={pairs}", "balanced", "def balanced(s: str) -> bool:",
            $"Return True if the brackets '{pairs}' in s are balanced and properly nested; other characters are ignored.",
            $"stack = []\nfor c in s:\n    if c in '{opens}':\n        stack.append(c)\n    elif c in '{closes}':\n        if not stack or '{opens}'.index(stack.pop()) != '{closes}'.index(c):\n            return False\nreturn not stack",
            (string s) =>
            {
                var stack = new Stack<char>();
                foreach (var c in s)
                {
                    if (opens.Contains(c)) stack.Push(c);
                    else if (closes.Contains(c) && (stack.Count == 0 || opens.IndexOf(stack.Pop()) != closes.IndexOf(c))) return false;
                }
                return stack.Count == 0;
            }, Cases(r, q => Word(q, 0, 8, pairs + "a"), 6));
    }

    static CodeSpec Rotate(ItemRng r)
    {
        var k = r.Range(1, 5);
        return Make("rotate", 2, $"k={k}", "rotate", "def rotate(xs: list[int]) -> list[int]:",
            $"Rotate xs to the right by {k} places (the last element moves to the front each place) and return the new list.",
            $"if not xs:\n    return []\nk = {k} % len(xs)\nreturn xs[len(xs) - k:] + xs[:len(xs) - k]",
            (List<int> xs) => xs.Count == 0 ? xs : xs.Skip(xs.Count - k % xs.Count).Concat(xs.Take(xs.Count - k % xs.Count)).ToList(),
            Cases(r, q => Ints(q, 0, 7, 0, 9)));
    }

    static CodeSpec MergeSorted(ItemRng r)
    {
        var desc = r.Chance(0.5);
        var order = desc ? "descending" : "ascending";
        return Make("merge_sorted", 2, $"order={order}", "merge_sorted", "def merge_sorted(a: list[int], b: list[int]) -> list[int]:",
            $"a and b are each sorted {order}. Merge them into one list sorted {order}, keeping duplicates.",
            $"out = []\ni = j = 0\nwhile i < len(a) and j < len(b):\n    if a[i] {(desc ? ">=" : "<=")} b[j]:\n        out.append(a[i])\n        i += 1\n    else:\n        out.append(b[j])\n        j += 1\nreturn out + a[i:] + b[j:]",
            (List<int> a, List<int> b) => desc ? a.Concat(b).OrderDescending().ToList() : a.Concat(b).Order().ToList(),
            Cases(r, q =>
            {
                var a = Ints(q, 0, 5, 0, 20).Order().ToList();
                var b = Ints(q, 0, 5, 0, 20).Order().ToList();
                if (desc) { a.Reverse(); b.Reverse(); }
                return (a, b);
            }));
    }

    // ---- hard: dynamic programming and graphs ---------------------------------------------

    static CodeSpec LisLength(ItemRng r)
    {
        var strict = r.Chance(0.5);
        var cmp = strict ? "<" : "<=";
        return Make("lis_length", 3, $"strict={strict}", "lis_length", "def lis_length(xs: list[int]) -> int:",
            $"Return the length of the longest subsequence of xs in which each element is {(strict ? "strictly greater than" : "greater than or equal to")} the one before.",
            $"best = [1] * len(xs)\nfor i in range(len(xs)):\n    for j in range(i):\n        if xs[j] {cmp} xs[i]:\n            best[i] = max(best[i], best[j] + 1)\nreturn max(best, default=0)",
            (List<int> xs) =>
            {
                var best = new int[xs.Count];
                for (var i = 0; i < xs.Count; i++)
                {
                    best[i] = 1;
                    for (var j = 0; j < i; j++)
                        if (strict ? xs[j] < xs[i] : xs[j] <= xs[i]) best[i] = Math.Max(best[i], best[j] + 1);
                }
                return best.DefaultIfEmpty(0).Max();
            }, Cases(r, q => Ints(q, 0, 9, 0, 6)));
    }

    static CodeSpec EditDistance(ItemRng r)
    {
        var sub = r.Range(1, 2);
        return Make("edit_distance", 3, $"sub={sub}", "edit_distance", "def edit_distance(a: str, b: str) -> int:",
            $"Return the minimum cost to turn a into b, where inserting or deleting a character costs 1 and replacing one costs {sub}.",
            $"m, n = len(a), len(b)\nd = [[0] * (n + 1) for _ in range(m + 1)]\nfor i in range(m + 1):\n    d[i][0] = i\nfor j in range(n + 1):\n    d[0][j] = j\nfor i in range(1, m + 1):\n    for j in range(1, n + 1):\n        same = a[i - 1] == b[j - 1]\n        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (0 if same else {sub}))\nreturn d[m][n]",
            (string a, string b) =>
            {
                var d = new int[a.Length + 1, b.Length + 1];
                for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
                for (var j = 0; j <= b.Length; j++) d[0, j] = j;
                for (var i = 1; i <= a.Length; i++)
                    for (var j = 1; j <= b.Length; j++)
                        d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : sub));
                return d[a.Length, b.Length];
            }, Cases(r, q => (Word(q, 0, 6, "abc"), Word(q, 0, 6, "abc"))));
    }

    static int[] Coins(ItemRng r) => r.Distinct(12, r.Range(2, 4)).Select(i => i + 1).Order().ToArray();

    static CodeSpec CoinWays(ItemRng r)
    {
        var coins = Coins(r);
        var list = Py.Lit(coins);
        return Make("coin_ways", 3, $"coins={list}", "coin_ways", "def coin_ways(n: int) -> int:",
            $"Return the number of ways to make the amount n from coins of values {list}, each usable any number of times; order does not matter.",
            $"ways = [1] + [0] * n\nfor c in {list}:\n    for v in range(c, n + 1):\n        ways[v] += ways[v - c]\nreturn ways[n]",
            (int n) =>
            {
                var ways = new long[n + 1];
                ways[0] = 1;
                foreach (var c in coins) for (var v = c; v <= n; v++) ways[v] += ways[v - c];
                return ways[n];
            }, Cases(r, q => q.Range(0, 40)));
    }

    static CodeSpec MinCoins(ItemRng r)
    {
        var coins = Coins(r);
        var list = Py.Lit(coins);
        return Make("min_coins", 3, $"coins={list}", "min_coins", "def min_coins(n: int) -> int:",
            $"Return the fewest coins of values {list} (any number of each) that sum to n, or -1 if n cannot be made.",
            $"INF = float('inf')\nbest = [0] + [INF] * n\nfor v in range(1, n + 1):\n    for c in {list}:\n        if c <= v and best[v - c] + 1 < best[v]:\n            best[v] = best[v - c] + 1\nreturn -1 if best[n] == INF else best[n]",
            (int n) =>
            {
                var best = new int[n + 1];
                for (var v = 1; v <= n; v++)
                {
                    best[v] = int.MaxValue;
                    foreach (var c in coins)
                        if (c <= v && best[v - c] != int.MaxValue) best[v] = Math.Min(best[v], best[v - c] + 1);
                }
                return best[n] == int.MaxValue ? -1 : best[n];
            }, Cases(r, q => q.Range(0, 40)));
    }

    static List<List<int>> Edges(ItemRng r, int n, int m) =>
        Enumerable.Range(0, m).Select(_ => new List<int> { r.Next(n), r.Next(n) }).Where(e => e[0] != e[1]).ToList();

    static CodeSpec ShortestPath(ItemRng r)
    {
        var n = r.Range(4, 8);
        return Make("shortest_path", 3, $"n={n}", "shortest_path", "def shortest_path(edges: list[list[int]], target: int) -> int:",
            $"An undirected graph has nodes 0..{n - 1} and the given edges. Return the fewest edges on a path from node 0 to target, or -1 if target cannot be reached.",
            $"adj = {{i: [] for i in range({n})}}\nfor u, v in edges:\n    adj[u].append(v)\n    adj[v].append(u)\ndist = {{0: 0}}\nqueue = [0]\nfor u in queue:\n    for v in adj[u]:\n        if v not in dist:\n            dist[v] = dist[u] + 1\n            queue.append(v)\nreturn dist.get(target, -1)",
            (List<List<int>> edges, int target) =>
            {
                var dist = new Dictionary<int, int> { [0] = 0 };
                var queue = new Queue<int>([0]);
                while (queue.TryDequeue(out var u))
                    foreach (var e in edges)
                    {
                        var v = e[0] == u ? e[1] : e[1] == u ? e[0] : -1;
                        if (v >= 0 && dist.TryAdd(v, dist[u] + 1)) queue.Enqueue(v);
                    }
                return dist.GetValueOrDefault(target, -1);
            }, Cases(r, q => (Edges(q, n, q.Range(2, n + 2)), q.Range(1, n - 1))));
    }

    static CodeSpec CountIslands(ItemRng r)
    {
        var diagonal = r.Chance(0.5);
        var dirs = diagonal ? "[(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]" : "[(-1, 0), (1, 0), (0, -1), (0, 1)]";
        return Make("count_islands", 3, $"diagonal={diagonal}", "count_islands", "def count_islands(grid: list[list[int]]) -> int:",
            $"grid holds 1 for land and 0 for water. Count the islands: groups of land cells joined {(diagonal ? "horizontally, vertically or diagonally" : "horizontally or vertically")}.",
            $"rows, cols = len(grid), len(grid[0]) if grid else 0\nseen = set()\ncount = 0\nfor r in range(rows):\n    for c in range(cols):\n        if grid[r][c] == 1 and (r, c) not in seen:\n            count += 1\n            stack = [(r, c)]\n            seen.add((r, c))\n            while stack:\n                y, x = stack.pop()\n                for dy, dx in {dirs}:\n                    ny, nx = y + dy, x + dx\n                    if 0 <= ny < rows and 0 <= nx < cols and grid[ny][nx] == 1 and (ny, nx) not in seen:\n                        seen.add((ny, nx))\n                        stack.append((ny, nx))\nreturn count",
            (List<List<int>> g) =>
            {
                var seen = new HashSet<(int, int)>();
                var count = 0;
                for (var y = 0; y < g.Count; y++)
                    for (var x = 0; x < g[y].Count; x++)
                    {
                        if (g[y][x] != 1 || !seen.Add((y, x))) continue;
                        count++;
                        var stack = new Stack<(int, int)>([(y, x)]);
                        while (stack.TryPop(out var p))
                            for (var dy = -1; dy <= 1; dy++)
                                for (var dx = -1; dx <= 1; dx++)
                                {
                                    if ((dy == 0 && dx == 0) || (!diagonal && dy != 0 && dx != 0)) continue;
                                    int ny = p.Item1 + dy, nx = p.Item2 + dx;
                                    if (ny >= 0 && ny < g.Count && nx >= 0 && nx < g[ny].Count && g[ny][nx] == 1 && seen.Add((ny, nx))) stack.Push((ny, nx));
                                }
                    }
                return count;
            }, Cases(r, q => { var w = q.Range(1, 5); return Enumerable.Range(0, q.Range(1, 5)).Select(_ => Ints(q, w, w, 0, 1)).ToList(); }));
    }

    static CodeSpec Knapsack(ItemRng r)
    {
        var cap = r.Range(5, 15);
        return Make("knapsack", 3, $"cap={cap}", "knapsack", "def knapsack(values: list[int], weights: list[int]) -> int:",
            $"Each item i has values[i] and weights[i]. Return the largest total value of a set of items (each used at most once) whose total weight is at most {cap}.",
            $"best = [0] * ({cap} + 1)\nfor v, w in zip(values, weights):\n    for c in range({cap}, w - 1, -1):\n        best[c] = max(best[c], best[c - w] + v)\nreturn best[{cap}]",
            (List<int> values, List<int> weights) =>
            {
                var best = new int[cap + 1];
                for (var i = 0; i < values.Count; i++)
                    for (var c = cap; c >= weights[i]; c--) best[c] = Math.Max(best[c], best[c - weights[i]] + values[i]);
                return best[cap];
            }, Cases(r, q => { var n = q.Range(0, 6); return (Ints(q, n, n, 1, 20), Ints(q, n, n, 1, 8)); }));
    }

    static CodeSpec LcsLength(ItemRng r)
    {
        var alphabet = r.Pick(new[] { "ab", "abc", "abcd" });
        return Make("lcs_length", 3, $"alphabet={alphabet}", "lcs_length", "def lcs_length(a: str, b: str) -> int:",
            $"a and b use only the letters '{alphabet}'. Return the length of their longest common subsequence.",
            "d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]\nfor i in range(1, len(a) + 1):\n    for j in range(1, len(b) + 1):\n        d[i][j] = d[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(d[i - 1][j], d[i][j - 1])\nreturn d[len(a)][len(b)]",
            (string a, string b) =>
            {
                var d = new int[a.Length + 1, b.Length + 1];
                for (var i = 1; i <= a.Length; i++)
                    for (var j = 1; j <= b.Length; j++)
                        d[i, j] = a[i - 1] == b[j - 1] ? d[i - 1, j - 1] + 1 : Math.Max(d[i - 1, j], d[i, j - 1]);
                return d[a.Length, b.Length];
            }, Cases(r, q => (Word(q, 0, 7, alphabet), Word(q, 0, 7, alphabet))));
    }

    static CodeSpec GridPaths(ItemRng r)
    {
        var blocked = r.Range(1, 9);
        return Make("grid_paths", 3, $"blocked={blocked}", "grid_paths", "def grid_paths(rows: int, cols: int) -> int:",
            $"Count the paths from the top-left to the bottom-right cell of a rows x cols grid moving only right or down, where a cell (r, c) is blocked when (r * cols + c) % 10 == {blocked}.",
            $"ways = [[0] * cols for _ in range(rows)]\nfor r in range(rows):\n    for c in range(cols):\n        if (r * cols + c) % 10 == {blocked}:\n            continue\n        if r == 0 and c == 0:\n            ways[r][c] = 1\n        else:\n            ways[r][c] = (ways[r - 1][c] if r > 0 else 0) + (ways[r][c - 1] if c > 0 else 0)\nreturn ways[rows - 1][cols - 1]",
            (int rows, int cols) =>
            {
                var ways = new long[rows, cols];
                for (var y = 0; y < rows; y++)
                    for (var x = 0; x < cols; x++)
                    {
                        if ((y * cols + x) % 10 == blocked) continue;
                        ways[y, x] = y == 0 && x == 0 ? 1 : (y > 0 ? ways[y - 1, x] : 0) + (x > 0 ? ways[y, x - 1] : 0);
                    }
                return ways[rows - 1, cols - 1];
            }, Cases(r, q => (q.Range(1, 6), q.Range(1, 6))));
    }

    static CodeSpec HasCycle(ItemRng r)
    {
        var n = r.Range(3, 7);
        return Make("has_cycle", 3, $"n={n}", "has_cycle", "def has_cycle(edges: list[list[int]]) -> bool:",
            $"A directed graph has nodes 0..{n - 1}; each edge [u, v] points from u to v. Return True if the graph contains a directed cycle.",
            $"indeg = [0] * {n}\nadj = [[] for _ in range({n})]\nfor u, v in edges:\n    adj[u].append(v)\n    indeg[v] += 1\nready = [i for i in range({n}) if indeg[i] == 0]\ndone = 0\nwhile ready:\n    u = ready.pop()\n    done += 1\n    for v in adj[u]:\n        indeg[v] -= 1\n        if indeg[v] == 0:\n            ready.append(v)\nreturn done < {n}",
            (List<List<int>> edges) =>
            {
                // Repeatedly drop nodes with no incoming edge; a cycle is what remains.
                var alive = Enumerable.Range(0, n).ToHashSet();
                bool removed;
                do
                {
                    removed = false;
                    foreach (var v in alive.ToList())
                        if (!edges.Any(e => e[1] == v && alive.Contains(e[0]))) { alive.Remove(v); removed = true; }
                } while (removed);
                return alive.Count > 0;
            }, Cases(r, q => Edges(q, n, q.Range(1, n + 1)), 6));
    }

    static CodeSpec MaxWindowSum(ItemRng r)
    {
        var k = r.Range(2, 4);
        return Make("max_window_sum", 3, $"k={k}", "max_window_sum", "def max_window_sum(xs: list[int]) -> int:",
            $"Return the largest sum of {k} consecutive elements of xs, or 0 if xs has fewer than {k} elements.",
            $"if len(xs) < {k}:\n    return 0\ncur = sum(xs[:{k}])\nbest = cur\nfor i in range({k}, len(xs)):\n    cur += xs[i] - xs[i - {k}]\n    best = max(best, cur)\nreturn best",
            (List<int> xs) => xs.Count < k ? 0 : Enumerable.Range(0, xs.Count - k + 1).Max(i => xs.Skip(i).Take(k).Sum()),
            Cases(r, q => Ints(q, 0, 8, -9, 9)));
    }
}
