using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// What the worker remembers of a message across its deliveries, written into the message itself whenever the
/// worker hands it back (a failure, an outage, a shutdown): how often the job failed on its own, and how often the
/// worker handed it back. The queue's own dequeue count also rises with every crash, so the deliveries that ended
/// without a hand-back — crashes, kills — are the dequeue count less the hand-backs. The message then reads
/// <c>{"embeddingWorkerDelivery":{"attempts":1,"handBacks":2},"body":…}</c> with the producer's body inside,
/// unchanged (JSON as it was, anything else as a string); poison and replay use the producer's body.
/// </summary>
internal readonly record struct DeliveryRecord(int Attempts, int HandBacks)
{
    /// <summary>The largest message Azure Queue Storage keeps.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    private const string RecordField = "embeddingWorkerDelivery";
    private const string AttemptsField = "attempts";
    private const string HandBacksField = "handBacks";
    private const string BodyField = "body";

    private static readonly byte[] Prefix = Encoding.UTF8.GetBytes("{\"" + RecordField + "\":");

    /// <summary>The record a message carries (none: zero), and the producer's body.</summary>
    public static (DeliveryRecord Record, ReadOnlyMemory<byte> Body) Read(ReadOnlyMemory<byte> message)
    {
        if (!message.Span.StartsWith(Prefix))
        {
            return (default, message);
        }
        try
        {
            using var document = JsonDocument.Parse(message);
            var record = document.RootElement.GetProperty(RecordField);
            var body = document.RootElement.GetProperty(BodyField);
            var bytes = body.ValueKind == JsonValueKind.String
                ? Encoding.UTF8.GetBytes(body.GetString()!)
                : Encoding.UTF8.GetBytes(body.GetRawText());
            return (new DeliveryRecord(record.GetProperty(AttemptsField).GetInt32(), record.GetProperty(HandBacksField).GetInt32()), bytes);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Not one of ours after all: the producer's body as it is.
            return (default, message);
        }
    }

    /// <summary>The message to write back: this record around <paramref name="body"/>; null when it would not fit in a message.</summary>
    public BinaryData? Write(ReadOnlyMemory<byte> body)
    {
        var buffer = new ArrayBufferWriter<byte>(body.Length + 96);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject(RecordField);
            writer.WriteNumber(AttemptsField, Attempts);
            writer.WriteNumber(HandBacksField, HandBacks);
            writer.WriteEndObject();
            writer.WritePropertyName(BodyField);
            if (IsJsonObject(body))
            {
                writer.WriteRawValue(body.Span, skipInputValidation: true);
            }
            else
            {
                writer.WriteStringValue(Encoding.UTF8.GetString(body.Span));
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenCount <= MaxMessageBytes ? new BinaryData(buffer.WrittenMemory) : null;
    }

    private static bool IsJsonObject(ReadOnlyMemory<byte> body)
    {
        var span = body.Span;
        if (span.IsEmpty || span[0] != (byte)'{')
        {
            return false;
        }
        try
        {
            var reader = new Utf8JsonReader(span);
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
