using System.Text.Json;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Converts a job's JSON metadata into Qdrant payload values and back, keeping its structure.</summary>
internal static class PayloadValues
{
    public static Value From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new Value { StructValue = ToStruct(element) },
        JsonValueKind.Array => new Value { ListValue = ToList(element) },
        JsonValueKind.String => new Value { StringValue = element.GetString() },
        JsonValueKind.Number when element.TryGetInt64(out var integer) => new Value { IntegerValue = integer },
        JsonValueKind.Number => new Value { DoubleValue = element.GetDouble() },
        JsonValueKind.True => new Value { BoolValue = true },
        JsonValueKind.False => new Value { BoolValue = false },
        _ => new Value { NullValue = NullValue.NullValue },
    };

    private static Struct ToStruct(JsonElement element)
    {
        var result = new Struct();
        foreach (var property in element.EnumerateObject())
        {
            result.Fields[property.Name] = From(property.Value);
        }
        return result;
    }

    private static ListValue ToList(JsonElement element)
    {
        var result = new ListValue();
        foreach (var item in element.EnumerateArray())
        {
            result.Values.Add(From(item));
        }
        return result;
    }

    /// <summary>The strings of a list field (a multimodal point's images), or null when the point has no such list.</summary>
    public static List<string>? Strings(IDictionary<string, Value> payload, string field) =>
        payload.TryGetValue(field, out var value) && value.KindCase == Value.KindOneofCase.ListValue ? [.. value.ListValue.Values.Select(v => v.StringValue)] : null;

    /// <summary>A time stored as an ISO 8601 string (<c>embedded_at</c>, <c>deleted_at</c>), or null when absent or unreadable.</summary>
    public static DateTimeOffset? Time(IDictionary<string, Value> payload, string field) =>
        payload.TryGetValue(field, out var value) && value.KindCase == Value.KindOneofCase.StringValue
            && DateTimeOffset.TryParse(value.StringValue, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at)
            ? at
            : null;

    /// <summary>The JSON a stored value came from (integers stay integers).</summary>
    public static JsonElement ToJson(Value value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, value);
        }
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, Value value)
    {
        switch (value.KindCase)
        {
            case Value.KindOneofCase.StructValue:
                writer.WriteStartObject();
                foreach (var (name, field) in value.StructValue.Fields)
                {
                    writer.WritePropertyName(name);
                    Write(writer, field);
                }
                writer.WriteEndObject();
                break;
            case Value.KindOneofCase.ListValue:
                writer.WriteStartArray();
                foreach (var item in value.ListValue.Values)
                {
                    Write(writer, item);
                }
                writer.WriteEndArray();
                break;
            case Value.KindOneofCase.StringValue:
                writer.WriteStringValue(value.StringValue);
                break;
            case Value.KindOneofCase.IntegerValue:
                writer.WriteNumberValue(value.IntegerValue);
                break;
            case Value.KindOneofCase.DoubleValue:
                writer.WriteNumberValue(value.DoubleValue);
                break;
            case Value.KindOneofCase.BoolValue:
                writer.WriteBooleanValue(value.BoolValue);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
