using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// A message body as producers send it: raw UTF-8 JSON, or base64 of it (Azure Functions producers base64 by
/// default). Finds the JSON in either, checking all of it is valid UTF-8 so that no field can fail later.
/// </summary>
internal static class MessageBody
{
    /// <summary>The JSON text of the body, or default with the reason in <paramref name="error"/>.</summary>
    public static ReadOnlyMemory<byte> Unwrap(ReadOnlyMemory<byte> body, out string? error)
    {
        error = null;
        var span = body.Span;
        var start = FirstSignificantByte(span);
        if (start < 0)
        {
            error = "message is empty.";
            return default;
        }
        if (span[start] is (byte)'{' or (byte)'[' or (byte)'"')
        {
            // System.Text.Json checks UTF-8 only when a string is read; check it all here so no field throws later.
            if (!Utf8.IsValid(span))
            {
                error = "message is not valid UTF-8.";
                return default;
            }
            return body[start..];
        }

        // A JSON number, true, false or null is JSON, not base64 ("4711" is both): the parser then says it is not an object.
        var trimmed = span[start..].TrimEnd(" \t\r\n"u8);
        if (IsJsonScalar(trimmed))
        {
            return body[start..];
        }

        // Not JSON on its face: the producer may have base64-encoded it.
        if (!Base64.IsValid(trimmed, out var decodedLength))
        {
            error = "message is neither JSON nor base64-encoded JSON.";
            return default;
        }
        var decoded = new byte[decodedLength];
        if (Base64.DecodeFromUtf8(trimmed, decoded, out _, out var written) != OperationStatus.Done)
        {
            error = "message is neither JSON nor base64-encoded JSON.";
            return default;
        }
        var innerStart = FirstSignificantByte(decoded.AsSpan(0, written));
        if (innerStart < 0 || decoded[innerStart] != (byte)'{')
        {
            error = "message is base64, but what it encodes is not a JSON object.";
            return default;
        }
        if (!Utf8.IsValid(decoded.AsSpan(0, written)))
        {
            error = "message is base64 of text that is not valid UTF-8.";
            return default;
        }
        return decoded.AsMemory(innerStart, written - innerStart);
    }

    private static bool IsJsonScalar(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty || text[0] is not ((>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'t' or (byte)'f' or (byte)'n'))
        {
            return false;
        }
        var reader = new Utf8JsonReader(text);
        try
        {
            return reader.Read() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static int FirstSignificantByte(ReadOnlySpan<byte> span)
    {
        // Skip a UTF-8 byte order mark and white space.
        var offset = span.StartsWith("\uFEFF"u8) ? 3 : 0;
        for (var i = offset; i < span.Length; i++)
        {
            if (span[i] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return i;
            }
        }
        return -1;
    }
}
