using System.Buffers.Text;
using System.Text;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// Images travel inside the message as data URIs. A URL is never fetched: the worker makes no outbound
/// request to an address taken from a message.
/// </summary>
internal static class ImageDataUri
{
    public const int MaxDecodedBytes = 4 * 1024 * 1024;

    /// <summary>Null when <paramref name="value"/> is an acceptable image; otherwise why not.</summary>
    public static string? Check(string value)
    {
        if (!value.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return "is not a data URI (data:image/...;base64,...); image URLs are never fetched.";
        }
        var comma = value.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            return "is a data URI without data.";
        }
        var header = value.AsSpan(5, comma - 5);
        if (!header.StartsWith("image/", StringComparison.OrdinalIgnoreCase) || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            return "must be a base64 data URI of an image type (data:image/png;base64,...).";
        }
        var data = Encoding.ASCII.GetBytes(value[(comma + 1)..]);
        if (!Base64.IsValid(data, out var decodedLength) || decodedLength == 0)
        {
            return "holds data that is not valid base64.";
        }
        return decodedLength > MaxDecodedBytes ? $"is {decodedLength} bytes; at most {MaxDecodedBytes} are allowed." : null;
    }
}
