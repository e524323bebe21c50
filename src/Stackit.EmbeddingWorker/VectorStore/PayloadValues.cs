using System.Text.Json;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Converts a job's JSON metadata into Qdrant payload values, keeping its structure.</summary>
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
}
