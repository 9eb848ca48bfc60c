using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gpt4Sharp.Server;

/// <summary>
/// The web chat page at <c>/</c>: static HTML, CSS and JavaScript embedded in this assembly
/// (no CDN, nothing fetched from elsewhere), talking to /v1/chat/completions. A strict content
/// security policy allows only this server's scripts and styles and data: images.
/// </summary>
static class WebChatPage
{
    static readonly Dictionary<string, string> ContentTypes = new()
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["chat.js"] = "text/javascript; charset=utf-8",
        ["markdown.js"] = "text/javascript; charset=utf-8",
        ["chat.css"] = "text/css; charset=utf-8",
    };

    const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    static readonly Dictionary<string, byte[]> Files = ContentTypes.Keys.ToDictionary(name => name, Read);

    static byte[] Read(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Gpt4Sharp.Server.WebChat.{name}")
            ?? throw new InvalidOperationException($"The web chat file {name} is not embedded in the server assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/", (HttpContext http) => Send(http, "index.html"));
        app.MapGet("/chat/{name}", (HttpContext http, string name) => Files.ContainsKey(name) && name != "index.html"
            ? Send(http, name)
            : throw new ApiError(404, $"There is no file /chat/{name}.", code: "unknown_url"));
    }

    static Task Send(HttpContext http, string name)
    {
        http.Response.ContentType = ContentTypes[name];
        http.Response.Headers.ContentSecurityPolicy = Policy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-cache";
        return http.Response.Body.WriteAsync(Files[name]).AsTask();
    }
}
