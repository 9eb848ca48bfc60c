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

    [GeneratedRegex(@"\((\d+) cached\)")]
    private static partial Regex CachedTokens();

    [RequiresChromiumFact]
    public async Task A_browser_chats_two_turns_with_streamed_answers_usage_and_cost()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = RequiresChromiumFactAttribute.Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
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
