using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Leasing;

namespace Stackit.EmbeddingWorker.Acknowledgement;

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

    public static string Create(QueueLease lease, string? documentId, string error, DateTimeOffset failedAt, out bool wrapped)
    {
        var original = TryDecode(lease.Body);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("error", error);
            writer.WriteNumber("dequeueCount", lease.DequeueCount);
            writer.WriteString("failedAt", failedAt);
            writer.WriteString("queue", lease.QueueName);
            writer.WriteString("messageId", lease.MessageId);
            if (documentId is not null)
            {
                writer.WriteString("documentId", documentId);
            }
            if (original is not null)
            {
                writer.WriteString("message", original);
            }
            else
            {
                writer.WriteBase64String("messageBase64", lease.Body.Span);
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
