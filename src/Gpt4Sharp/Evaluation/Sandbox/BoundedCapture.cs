using System.Text;

namespace Gpt4Sharp.Evaluation.Sandbox;

/// <summary>Reads a stream to its end, keeping only the first bytes, so a flood of output cannot exhaust memory.</summary>
static class BoundedCapture
{
    public sealed record Captured(string Text, bool Truncated);

    public static async Task<Captured> ReadAsync(Stream stream, int capBytes)
    {
        var kept = new MemoryStream();
        var buffer = new byte[64 << 10];
        var truncated = false;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            var room = capBytes - (int)kept.Length;
            if (room > 0) kept.Write(buffer, 0, Math.Min(room, read));
            if (read > room) truncated = true;
        }
        return new Captured(Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length), truncated);
    }
}
