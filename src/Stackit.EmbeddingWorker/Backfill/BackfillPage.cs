using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// One backfill message: copy these documents from <see cref="Source"/>, the collection <see cref="Alias"/> pointed to
/// when the page was made, into <see cref="Target"/>, re-embedding what changed. The same message serves the first
/// copy, a resumed run and a live change recorded while the backfill runs: each copy reads the source as it is when
/// the page is worked on. Naming the physical source matters after the switch, when the alias points to the target
/// itself; a page without one (made by an earlier version) reads through the alias. <see cref="Signature"/> is set when
/// <c>Backfill:PageKey</c> is (<see cref="PageSignature"/>), and <see cref="PageAuthority"/> decides whether a page is
/// worked on at all.
/// </summary>
internal sealed record BackfillPage(
    [property: JsonPropertyName("alias")] string Alias,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("ids")] IReadOnlyList<string> Ids,
    [property: JsonPropertyName("source")] string? Source = null,
    [property: JsonPropertyName("sig")] string? Signature = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, BackfillPageContext.Default.BackfillPage);

    /// <summary>The page, or null with the reason when the message is not one.</summary>
    public static BackfillPage? Parse(BinaryData body, out string? error)
    {
        error = null;
        try
        {
            var page = JsonSerializer.Deserialize(body, BackfillPageContext.Default.BackfillPage);
            if (page is { Alias.Length: > 0, Target.Length: > 0, Ids.Count: > 0 } && page.Ids.All(id => id is { Length: > 0 }))
            {
                return page;
            }
            error = "a backfill message needs 'alias', 'target' and a non-empty 'ids' array of document ids.";
        }
        catch (JsonException ex)
        {
            error = $"a backfill message must be JSON: {ex.Message}";
        }
        return null;
    }

    /// <summary>
    /// The largest page message: well inside a queue message (64 KiB), with room for the delivery record the worker
    /// writes around a page it hands back. Ids are up to 512 characters, and JSON escapes each non-ASCII one to six
    /// bytes, so a page of 32 long ids could reach 96 KiB.
    /// </summary>
    public const int MaxPageBytes = 48 * 1024;

    /// <summary>Messages of at most <paramref name="pageSize"/> documents each, and at most <see cref="MaxPageBytes"/>.</summary>
    public static IEnumerable<BackfillPage> For(string alias, string source, string target, IEnumerable<string> ids, int pageSize)
    {
        var overhead = new BackfillPage(alias, target, [], source).ToJson().Length;
        var page = new List<string>(pageSize);
        var bytes = overhead;
        foreach (var id in ids)
        {
            // The id as JSON writes it, quoted, with a comma.
            var size = JsonEncodedText.Encode(id).EncodedUtf8Bytes.Length + 3;
            if (page.Count > 0 && (page.Count == pageSize || bytes + size > MaxPageBytes))
            {
                yield return new BackfillPage(alias, target, [.. page], source);
                page.Clear();
                bytes = overhead;
            }
            page.Add(id);
            bytes += size;
        }
        if (page.Count > 0)
        {
            yield return new BackfillPage(alias, target, [.. page], source);
        }
    }

    /// <summary>The collection to read: the physical source, or the alias for a page that names none.</summary>
    [JsonIgnore]
    public string ReadFrom => Source ?? Alias;
}

[JsonSerializable(typeof(BackfillPage))]
internal sealed partial class BackfillPageContext : JsonSerializerContext;
