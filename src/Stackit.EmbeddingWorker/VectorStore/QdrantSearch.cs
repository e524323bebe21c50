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
    /// <summary>What says which chunk a point is and what it says: its document, index and text.</summary>
    internal static readonly WithPayloadSelector ChunkFields = new()
    {
        Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId, PayloadFields.ChunkIndex, PayloadFields.Text } },
    };

    /// <summary>The chunks nearest to <paramref name="vector"/> by the dense vector alone.</summary>
    public static async Task<IReadOnlyList<SearchHit>> NearestAsync(QdrantClient client, string collection, CollectionShape shape, float[] vector, Filter? filter, ulong limit, CancellationToken cancellationToken) =>
        Hits(await client.QueryAsync(collection, query: vector, usingVector: shape.DenseUsing, filter: filter, limit: limit, payloadSelector: ChunkFields, cancellationToken: cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Hybrid search in a collection with BM25: the nearest chunks by the dense vector and the best by BM25 for the
    /// query's words (Qdrant tokenizes them as it did the chunks), <see cref="Candidates"/> of each, fused by reciprocal
    /// rank (Qdrant's RRF: each list adds 1/(rank + 2), ranks from 0). The query's words go to BM25 without the
    /// instruction the dense model needs.
    /// </summary>
    public static async Task<IReadOnlyList<SearchHit>> HybridAsync(QdrantClient client, string collection, CollectionShape shape, float[] vector, string words, Filter? filter, ulong limit, CancellationToken cancellationToken)
    {
        var candidates = Math.Max(Candidates, limit * 2);
        PrefetchQuery[] prefetch =
        [
            new() { Query = vector, Using = CollectionShape.DenseName, Limit = candidates, Filter = filter },
            new() { Query = shape.Bm25Document(words), Using = CollectionShape.Bm25Name, Limit = candidates, Filter = filter },
        ];
        return Hits(await client.QueryAsync(collection, query: Fusion.Rrf, prefetch: prefetch, limit: limit, payloadSelector: ChunkFields, cancellationToken: cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Chunks each side of a hybrid search brings to the fusion, at least.</summary>
    internal const ulong Candidates = 20;

    private static List<SearchHit> Hits(IReadOnlyList<ScoredPoint> points) =>
        points.Select((p, i) => new SearchHit(
            i + 1,
            p.Score,
            p.Id.HasUuid ? p.Id.Uuid : p.Id.Num.ToString(CultureInfo.InvariantCulture),
            p.Payload.TryGetValue(PayloadFields.DocumentId, out var id) ? id.StringValue : "",
            p.Payload.TryGetValue(PayloadFields.ChunkIndex, out var chunk) ? chunk.IntegerValue : -1,
            p.Payload.TryGetValue(PayloadFields.Text, out var text) ? text.StringValue : "")).ToList();

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
