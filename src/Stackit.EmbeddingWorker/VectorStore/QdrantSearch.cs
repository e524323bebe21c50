using System.Globalization;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>One search result: where it ranks, its score, which chunk of which document, and the chunk's text.</summary>
internal sealed record SearchHit(int Rank, float Score, string PointId, string DocumentId, long ChunkIndex, string Text);

/// <summary>
/// Reads a collection the way its users search it: the nearest chunks to a query vector through Qdrant's Query
/// API, narrowed by metadata. The worker never calls this; the helper commands check a collection with it.
/// </summary>
internal static class QdrantSearch
{
    private static readonly WithPayloadSelector HitFields = new()
    {
        Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId, PayloadFields.ChunkIndex, PayloadFields.Text } },
    };

    public static async Task<IReadOnlyList<SearchHit>> NearestAsync(QdrantClient client, string collection, float[] vector, Filter? filter, ulong limit, CancellationToken cancellationToken)
    {
        var points = await client.QueryAsync(collection, query: vector, filter: filter, limit: limit, payloadSelector: HitFields, cancellationToken: cancellationToken).ConfigureAwait(false);
        return points.Select((p, i) => new SearchHit(
            i + 1,
            p.Score,
            p.Id.HasUuid ? p.Id.Uuid : p.Id.Num.ToString(CultureInfo.InvariantCulture),
            p.Payload.TryGetValue(PayloadFields.DocumentId, out var id) ? id.StringValue : "",
            p.Payload.TryGetValue(PayloadFields.ChunkIndex, out var chunk) ? chunk.IntegerValue : -1,
            p.Payload.TryGetValue(PayloadFields.Text, out var text) ? text.StringValue : "")).ToList();
    }

    /// <summary>
    /// <c>key=value</c> pairs as a filter on the documents' metadata (<c>metadata.key</c>), all of which must match. A
    /// value that reads as a whole number matches it stored as a number or as a string; <c>true</c>/<c>false</c> as a
    /// boolean or a string; anything else as a string. Null when there are none.
    /// </summary>
    /// <exception cref="FormatException">A pair without <c>=</c>, or with an empty key.</exception>
    public static Filter? MetadataFilter(IEnumerable<string> pairs)
    {
        var filter = new Filter();
        foreach (var pair in pairs)
        {
            var split = pair.IndexOf('=', StringComparison.Ordinal);
            if (split <= 0)
            {
                throw new FormatException($"'{pair}' is not key=value.");
            }
            var key = $"{PayloadFields.Metadata}.{pair[..split].Trim()}";
            var value = pair[(split + 1)..];
            var any = new Filter { Should = { Conditions.MatchKeyword(key, value) } };
            if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                any.Should.Add(Conditions.Match(key, number));
            }
            else if (bool.TryParse(value, out var flag))
            {
                any.Should.Add(Conditions.Match(key, flag));
            }
            filter.Must.Add(new Condition { Filter = any });
        }
        return filter.Must.Count == 0 ? null : filter;
    }
}
