using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Gpt4Sharp.Server.Tests;

/// <summary>A fact that is skipped, with the reason shown, when Debian's chromium is not installed (./test.sh installs it).</summary>
public sealed class RequiresChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public RequiresChromiumFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"{Chromium} is missing and could not be installed; run ./test.sh as root (it runs apt-get install chromium) to drive the web chat page.";
    }
}

/// <summary>The web chat page at /, served as static files and driven end to end in headless Chromium.</summary>
[Collection("Server")]
public sealed partial class WebChatTests(ServerFixture fixture)
{
    [Fact]
    public async Task The_page_and_its_scripts_are_served_without_a_key_under_a_strict_content_policy()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Server.Address };
        var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http", html); // nothing is fetched from elsewhere (no CDN)
        foreach (var file in new[] { "chat.js", "markdown.js", "chat.css" })
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/chat/" + file)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/chat/secrets.txt")).StatusCode);
    }

    // Stands in for a slow connection: the chat endpoint's stream reaches the page one server-sent event
    // per 100 ms, so the Stop button is pressed while the answer is still arriving. The request itself is
    // real and aborting it reaches the server; the stream errors the way fetch does when aborted.
    const string SlowChatStream = """
        () => {
          const realFetch = window.fetch;
          window.slowChat = true;
          window.fetch = async (url, init) => {
            const response = await realFetch(url, init);
            if (!window.slowChat || !String(url).endsWith("/v1/chat/completions") || !response.ok) return response;
            const source = response.body.getReader();
            const decoder = new TextDecoder(), encoder = new TextEncoder();
            let events = [];
            return new Response(new ReadableStream({
              start(controller) {
                init.signal.addEventListener("abort", () => controller.error(new DOMException("stopped", "AbortError")));
              },
              async pull(controller) {
                while (events.length === 0) {
                  const { value, done } = await source.read();
                  if (done) { controller.close(); return; }
                  events = decoder.decode(value, { stream: true }).split(/(?<=\n\n)/).filter(e => e.length > 0);
                }
                await new Promise(resolve => setTimeout(resolve, 100));
                if (!init.signal.aborted) controller.enqueue(encoder.encode(events.shift()));
              },
            }), { status: response.status, headers: response.headers });
          };
        }
        """;

    [RequiresChromiumFact]
    public async Task Stop_ends_the_answer_mid_stream_and_the_partial_answer_stays_in_the_conversation()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(fixture.Server.Address.ToString());
        await page.EvaluateAsync(SlowChatStream);
        await page.FillAsync("#key", ServerFixture.Key);
        await page.FillAsync("#temperature", "1");
        await page.FillAsync("#max-tokens", "60"); // at 100 ms per event, six seconds of answer

        await page.FillAsync("#input", "Tell me a long story");
        await page.ClickAsync("#send");
        var answer = page.Locator(".message.assistant").First;
        await Assertions.Expect(answer).Not.ToHaveAttributeAsync("data-chunks", "0", new() { Timeout = 20_000 });
        await page.ClickAsync("#stop");
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-done", "true", new() { Timeout = 5_000 });
        Assert.Equal("stopped", await answer.Locator(".usage").InnerTextAsync());
        Assert.InRange(int.Parse((await answer.GetAttributeAsync("data-chunks"))!), 1, 30);
        Assert.True(await page.IsEnabledAsync("#send"));
        Assert.False(await page.IsEnabledAsync("#stop"));

        // The next turn carries the stopped answer as the assistant's turn, and the server still answers.
        await page.EvaluateAsync("() => { window.slowChat = false; }");
        await page.FillAsync("#input", "And then?");
        var request = await page.RunAndWaitForRequestAsync(() => page.ClickAsync("#send"), r => r.Url.EndsWith("/v1/chat/completions"));
        var messages = System.Text.Json.Nodes.JsonNode.Parse(request.PostData!)!["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(messages[1]!["content"]!.GetValue<string>()));
        var next = page.Locator(".message.assistant").Nth(1);
        await Assertions.Expect(next).ToHaveAttributeAsync("data-done", "true", new() { Timeout = 20_000 });
        Assert.DoesNotContain("error", await next.GetAttributeAsync("class") ?? "");
        Assert.Matches(@"^prompt \d+ tokens", await next.Locator(".usage").InnerTextAsync());
    }

    static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = RequiresChromiumFactAttribute.Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

    [GeneratedRegex(@"\((\d+) cached\)")]
    private static partial Regex CachedTokens();

    [RequiresChromiumFact]
    public async Task A_browser_chats_two_turns_with_streamed_answers_usage_and_cost()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error" && !message.Text.Contains("401")) consoleErrors.Add(message.Text); };
        await page.GotoAsync(fixture.Server.Address.ToString());

        // The renderer escapes model output before formatting it.
        var rendered = await page.EvaluateAsync<string>("renderMarkdown('<img src=x onerror=alert(1)> **bold** `<b>` [x](javascript:alert(1))')");
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", rendered);
        Assert.Contains("<strong>bold</strong>", rendered);
        Assert.Contains("<code>&lt;b&gt;</code>", rendered);
        Assert.DoesNotContain("href=\"javascript", rendered);

        await page.FillAsync("#key", ServerFixture.Key);
        await page.FillAsync("#temperature", "1"); // seeded by the server (default seed), so still the same answer every run
        await page.FillAsync("#max-tokens", "16");
        var answers = page.Locator(".message.assistant");
        foreach (var (turn, text) in new[] { (1, "Tell me a story"), (2, "And then?") })
        {
            await page.FillAsync("#input", text);
            await page.ClickAsync("#send");
            var answer = answers.Nth(turn - 1);
            await Assertions.Expect(answer).ToHaveAttributeAsync("data-done", "true", new() { Timeout = 20_000 });
            Assert.DoesNotContain("error", await answer.GetAttributeAsync("class") ?? "");
            Assert.True(int.Parse((await answer.GetAttributeAsync("data-chunks"))!) >= 2, "the answer did not arrive in several streamed chunks");
            Assert.False(string.IsNullOrWhiteSpace(await answer.Locator(".answer").InnerTextAsync()));
            var usage = await answer.Locator(".usage").InnerTextAsync();
            Assert.Matches(@"prompt \d+ tokens \(\d+ cached\) · completion \d+ tokens · cost \$0\.\d{5}", usage);
            if (turn == 2) Assert.True(int.Parse(CachedTokens().Match(usage).Groups[1].Value) > 10, $"the second turn reused no cached prefix: {usage}");
        }
        Assert.Equal(2, await page.Locator(".message.user").CountAsync());
        Assert.Empty(consoleErrors);

        // An uploaded picture goes out as a data: URI; this text-only model answers with a clear error in the page.
        await page.SetInputFilesAsync("#image", new FilePayload { Name = "red.png", MimeType = "image/png", Buffer = VisionServerTests.Png(SkiaSharp.SKColors.Red) });
        await Assertions.Expect(page.Locator("#image-name")).ToHaveTextAsync("red.png");
        await page.FillAsync("#input", "What is this?");
        await page.ClickAsync("#send");
        var refused = answers.Nth(2);
        await Assertions.Expect(refused).ToHaveAttributeAsync("data-done", "true", new() { Timeout = 20_000 });
        Assert.Contains("error", await refused.GetAttributeAsync("class") ?? "");
        Assert.Contains("reads no images", await refused.InnerTextAsync());
        Assert.StartsWith("data:image/png;base64,", await page.Locator(".message.user img").GetAttributeAsync("src"));
    }
}
