using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// One backfill message: copy these documents from <see cref="Source"/>, the collection <see cref="Alias"/> pointed to
/// when the page was made, into <see cref="Target"/>, re-embedding what changed. The same message serves the first
/// copy, a resumed run and a live change recorded while the backfill runs: each copy reads the source as it is when
/// the page is worked on. Naming the physical source matters after the switch, when the alias points to the target
/// itself; a page without one (made by an earlier version) reads through the alias.
/// </summary>
internal sealed record BackfillPage(
    [property: JsonPropertyName("alias")] string Alias,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("ids")] IReadOnlyList<string> Ids,
    [property: JsonPropertyName("source")] string? Source = null)
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

    /// <summary>Messages of at most <paramref name="pageSize"/> documents each.</summary>
    public static IEnumerable<BackfillPage> For(string alias, string source, string target, IEnumerable<string> ids, int pageSize) =>
        ids.Chunk(pageSize).Select(chunk => new BackfillPage(alias, target, chunk, source));

    /// <summary>The collection to read: the physical source, or the alias for a page that names none.</summary>
    [JsonIgnore]
    public string ReadFrom => Source ?? Alias;
}

[JsonSerializable(typeof(BackfillPage))]
internal sealed partial class BackfillPageContext : JsonSerializerContext;
