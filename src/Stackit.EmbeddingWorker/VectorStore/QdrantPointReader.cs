using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Reads back what the worker stored: the version and chunk hashes of many documents in one scroll (to skip
/// superseded jobs and unchanged chunks), and the vectors of unchanged chunks (to write them again with the
/// new payload without embedding them again). A collection that does not exist yet holds nothing.
/// </summary>
internal sealed class QdrantPointReader(QdrantClient client, QdrantCalls calls)
{
    private const uint PageSize = 256;

    /// <summary>
    /// Points whose vectors one retrieve by id asks for, whatever their size (see <see cref="QdrantClients"/>): 128 vectors
    /// of 4096 dimensions are 2 MiB, far under the client's limit.
    /// </summary>
    internal const int VectorPageSize = 128;

    /// <summary>The vectors one answer of a read by document carries at most, in bytes: those of <see cref="VectorPageSize"/> points of 4096 dimensions.</summary>
    private const ulong VectorBytesPerAnswer = 2 * 1024 * 1024;

    /// <summary>
    /// Points a read by document with vectors of <paramref name="vectorSize"/> dimensions asks for at once: as many as
    /// fit in <see cref="VectorBytesPerAnswer"/>, from 32 to 1,024 (a backfill page of 128 documents of 256 dimensions
    /// is then one scroll, not five, and its filter is evaluated once).
    /// </summary>
    internal static uint VectorPageSizeFor(ulong vectorSize) =>
        (uint)Math.Clamp(VectorBytesPerAnswer / (sizeof(float) * Math.Max(vectorSize, 1)), 32, 1024);

    private static readonly WithPayloadSelector StateFields = new()
    {
        Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId, PayloadFields.ChunkIndex, PayloadFields.ContentHash, PayloadFields.Version } },
    };

    public Task<Dictionary<string, StoredDocument>> ReadDocumentsAsync(string collection, IReadOnlyCollection<string> documentIds, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var found = new Dictionary<string, (long? Version, Dictionary<int, string> Hashes)>(StringComparer.Ordinal);
            try
            {
                if (documentIds.Count > 0)
                {
                    await foreach (var point in QdrantScroll.AllAsync(client, collection, QdrantScroll.OfDocuments(documentIds), StateFields, PageSize, token).ConfigureAwait(false))
                    {
                        Add(found, point.Payload);
                    }
                }
            }
            catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                // Not created yet: it holds nothing. Asking Qdrant first would cost a round trip every time.
            }
            return found.ToDictionary(kv => kv.Key, kv => new StoredDocument(kv.Value.Version, kv.Value.Hashes), StringComparer.Ordinal);
        }, cancellationToken);

    /// <summary>
    /// Every point of these documents with its whole payload (or only <paramref name="fields"/>), and with its vectors
    /// when their size is given (<paramref name="vectorSize"/>; then in pages of <see cref="VectorPageSizeFor"/>).
    /// </summary>
    public Task<List<RetrievedPoint>> ReadPointsAsync(string collection, IReadOnlyCollection<string> documentIds, IReadOnlyList<string>? fields, CancellationToken cancellationToken, ulong? vectorSize = null) =>
        calls.RunAsync(async token =>
        {
            var payload = fields is null ? new WithPayloadSelector { Enable = true } : new WithPayloadSelector { Include = new PayloadIncludeSelector { Fields = { fields } } };
            return await QdrantScroll.AllAsync(client, collection, QdrantScroll.OfDocuments(documentIds), payload, vectorSize is { } size ? VectorPageSizeFor(size) : PageSize, token, vectorSize is not null)
                .ToListAsync(token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The vectors of these points; points that are gone meanwhile are missing from the answer.</summary>
    public async Task<Dictionary<Guid, float[]>> ReadVectorsAsync(string collection, IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        var vectors = new Dictionary<Guid, float[]>(ids.Count);
        // One answer per page: 128 vectors of 4096 dimensions are 2 MiB, far under the client's limit.
        foreach (var page in ids.Chunk(VectorPageSize))
        {
            var points = await calls.RunAsync(token => client.RetrieveAsync(collection, page.Select(id => new PointId { Uuid = id.ToString() }).ToList(),
                withPayload: false, withVectors: true, cancellationToken: token), cancellationToken).ConfigureAwait(false);
            foreach (var point in points)
            {
                if (Guid.TryParse(point.Id.Uuid, out var id) && VectorOf(point) is { Length: > 0 } vector)
                {
                    vectors[id] = vector;
                }
            }
        }
        return vectors;
    }

    private static void Add(Dictionary<string, (long? Version, Dictionary<int, string> Hashes)> found, Google.Protobuf.Collections.MapField<string, Value> payload)
    {
        if (!payload.TryGetValue(PayloadFields.DocumentId, out var id) || id.KindCase != Value.KindOneofCase.StringValue)
        {
            return;
        }
        if (!found.TryGetValue(id.StringValue, out var document))
        {
            document = (null, new Dictionary<int, string>());
        }
        if (payload.TryGetValue(PayloadFields.Version, out var version) && version.KindCase == Value.KindOneofCase.IntegerValue)
        {
            document.Version = Math.Max(document.Version ?? long.MinValue, version.IntegerValue);
        }
        if (payload.TryGetValue(PayloadFields.ChunkIndex, out var index) && index.KindCase == Value.KindOneofCase.IntegerValue
            && payload.TryGetValue(PayloadFields.ContentHash, out var hash) && hash.KindCase == Value.KindOneofCase.StringValue)
        {
            document.Hashes[(int)index.IntegerValue] = hash.StringValue;
        }
        found[id.StringValue] = document;
    }

    /// <summary>The dense vector of a point: its only one, or the one named <see cref="CollectionShape.DenseName"/> in a hybrid collection.</summary>
    internal static float[]? VectorOf(RetrievedPoint point) =>
        DenseOf(point.Vectors?.Vector ?? point.Vectors?.Vectors?.Vectors.GetValueOrDefault(CollectionShape.DenseName));

    private static float[]? DenseOf(VectorOutput? vector) => vector switch
    {
        { Dense: { } dense } => dense.Data.ToArray(),
#pragma warning disable CS0612 // servers before the dense field fill the flat one
        { Data.Count: > 0 } flat => flat.Data.ToArray(),
#pragma warning restore CS0612
        _ => null,
    };
}
