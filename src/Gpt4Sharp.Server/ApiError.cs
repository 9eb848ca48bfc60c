using System.Text.Json.Nodes;

namespace Gpt4Sharp.Server;

/// <summary>
/// An error the client caused (or an unavailable resource), reported in OpenAI's shape
/// <c>{"error": {"message", "type", "param", "code"}}</c> with its HTTP status.
/// </summary>
public sealed class ApiError(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public static ApiError BadRequest(string message, string? param = null, string? code = null) => new(400, message, param: param, code: code);

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = Message,
            ["type"] = Type,
            ["param"] = Param,
            ["code"] = Code,
        },
    };
}
