using System.Text.Json;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>Reads typed fields of the job object, remembering the first type error.</summary>
internal sealed class JobFieldReader(JsonElement root)
{
    public const int MaxImages = 16;

    /// <summary>
    /// The largest version: 2^53 - 1. Qdrant compares payload numbers in range filters as doubles, which tell
    /// every whole number apart only up to here, so a larger version could not be guarded exactly.
    /// </summary>
    public const long MaxVersion = (1L << 53) - 1;

    public string? Error { get; private set; }

    public string? RequiredString(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            Fail($"'{name}' is required.");
            return null;
        }
        return AsString(name, value);
    }

    public string? OptionalString(string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? AsString(name, value) : null;

    public JsonElement? OptionalObject(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            Fail($"'{name}' must be a JSON object, not {JobMessageParser.Describe(value.ValueKind)}.");
            return null;
        }
        return value.Clone();
    }

    public IReadOnlyList<string> OptionalStringArray(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            Fail($"'{name}' must be an array of strings, not {JobMessageParser.Describe(value.ValueKind)}.");
            return [];
        }
        var count = value.GetArrayLength();
        if (count > MaxImages)
        {
            Fail($"'{name}' holds {count} items; at most {MaxImages} are allowed.");
            return [];
        }
        var items = new List<string>(count);
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                Fail($"'{name}' must hold only strings, found {JobMessageParser.Describe(item.ValueKind)}.");
                return [];
            }
            items.Add(item.GetString()!);
        }
        return items;
    }

    public long? OptionalVersion(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var version) || version is < 0 or > MaxVersion)
        {
            Fail($"'{name}' must be a whole number from 0 to {MaxVersion} (2^53 - 1), written without a fraction or exponent.");
            return null;
        }
        return version;
    }

    private string? AsString(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            Fail($"'{name}' must be a string, not {JobMessageParser.Describe(value.ValueKind)}.");
            return null;
        }
        return value.GetString();
    }

    private void Fail(string error) => Error ??= error;
}
