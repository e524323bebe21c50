using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// The message written to <c>&lt;queue&gt;-poison</c>: the original plus why it failed, how often it was
/// tried and when. When the wrapped form would not fit a queue message, the original is copied unchanged
/// (the reason then lives in the log): the job's content is never cut.
/// </summary>
internal static class PoisonEnvelope
{
    /// <summary>Leaves room for the XML escaping the queue service applies to message text.</summary>
    public const int MaxEnvelopeBytes = 48 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The envelope is read by programs, never rendered as HTML: quotes escape as <c>\"</c>, not <c>\u0022</c>,
    /// which would triple the size of a JSON job and push it past <see cref="MaxEnvelopeBytes"/>.
    /// </summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string ErrorField = "error";
    private const string DequeueCountField = "dequeueCount";
    private const string FailedAtField = "failedAt";
    private const string QueueField = "queue";
    private const string MessageIdField = "messageId";
    private const string DocumentIdField = "documentId";
    private const string MessageField = "message";
    private const string MessageBase64Field = "messageBase64";

    public static string Create(QueueLease lease, string? documentId, string error, DateTimeOffset failedAt, out bool wrapped)
    {
        var original = TryDecode(lease.Body);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString(ErrorField, error);
            writer.WriteNumber(DequeueCountField, lease.DequeueCount);
            writer.WriteString(FailedAtField, failedAt);
            writer.WriteString(QueueField, lease.QueueName);
            writer.WriteString(MessageIdField, lease.MessageId);
            if (documentId is not null)
            {
                writer.WriteString(DocumentIdField, documentId);
            }
            if (original is not null)
            {
                writer.WriteString(MessageField, original);
            }
            else
            {
                writer.WriteBase64String(MessageBase64Field, lease.Body.Span);
            }
            writer.WriteEndObject();
        }

        wrapped = buffer.Length <= MaxEnvelopeBytes;
        if (wrapped)
        {
            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        return original ?? Convert.ToBase64String(lease.Body.Span);
    }

    /// <summary>
    /// Reads a poison-queue message: an envelope written by <see cref="Create"/>, or an original copied as it
    /// was (too large to wrap), which comes back with no reason attached.
    /// </summary>
    public static PoisonedMessage Read(BinaryData body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(ErrorField, out var error)
                && (root.TryGetProperty(MessageField, out var message) | root.TryGetProperty(MessageBase64Field, out var binary)))
            {
                var original = message.ValueKind == JsonValueKind.String
                    ? BinaryData.FromString(message.GetString()!)
                    : BinaryData.FromBytes(binary.GetBytesFromBase64());
                return new PoisonedMessage(original, error.GetString(), Text(root, DocumentIdField),
                    root.TryGetProperty(DequeueCountField, out var count) ? count.GetInt64() : null, Text(root, FailedAtField));
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
        }
        return new PoisonedMessage(body, null, null, null, null);
    }

    private static string? Text(JsonElement root, string name) => root.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static string? TryDecode(ReadOnlyMemory<byte> body)
    {
        try
        {
            return StrictUtf8.GetString(body.Span);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
