using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// How the worker lays out a collection it creates, from the <c>Qdrant</c> options: dense vectors of the model's size
/// (on disk, searched through an int8 or binary copy in RAM), with BM25 beside them when <c>Qdrant:Bm25</c> is set, HNSW, shards and replicas, payload on disk, and the
/// payload indexes: <c>doc_id</c>, <c>chunk_index</c>, <c>version</c> and <c>embedded_at</c> (the worker filters on them)
/// and the configured metadata fields.
/// </summary>
internal static class CollectionLayout
{
    /// <summary>The index kinds <c>Qdrant:IndexedMetadata</c> may name, and the payload index each makes.</summary>
    private static readonly Dictionary<string, (PayloadSchemaType Type, PayloadIndexParams? Params)> IndexOfKind = new(StringComparer.Ordinal)
    {
        ["keyword"] = (PayloadSchemaType.Keyword, null),
        ["integer"] = (PayloadSchemaType.Integer, null),
        ["float"] = (PayloadSchemaType.Float, null),
        ["bool"] = (PayloadSchemaType.Bool, null),
        ["datetime"] = (PayloadSchemaType.Datetime, null),
        ["text"] = (PayloadSchemaType.Text, null),
        ["uuid"] = (PayloadSchemaType.Uuid, null),
        ["tenant"] = (PayloadSchemaType.Keyword, new PayloadIndexParams { KeywordIndexParams = new KeywordIndexParams { IsTenant = true } }),
    };

    public static IReadOnlyCollection<string> IndexKinds => IndexOfKind.Keys;

    public static bool IsIndexableField(string field) =>
        field.Length is > 0 and <= 64 && field.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>The create request; with <paramref name="deferIndexing"/> no HNSW graph is built (<c>m: 0</c>) until <see cref="IndexEnabled"/> is applied: a bulk load.</summary>
    /// <remarks>
    /// <c>on_disk</c>, <c>always_ram</c> and <c>on_disk_payload</c> are marked deprecated in the client in favour of the
    /// newer <c>memory</c> fields, which servers before them drop unread (leaving everything in RAM). Servers with
    /// <c>memory</c> still honour the older flags, so the worker sends those: one request right for both.
    /// </remarks>
#pragma warning disable CS0612 // see the remark above
    public static CreateCollection Request(string collection, ulong dimension, QdrantOptions options, bool deferIndexing = false, CollectionModel? model = null)
    {
        var request = new CreateCollection
        {
            CollectionName = collection,
            VectorsConfig = new VectorsConfig(),
            HnswConfig = new HnswConfigDiff { M = deferIndexing ? 0 : (ulong)options.HnswM, EfConstruct = (ulong)options.HnswEfConstruct },
            ShardNumber = (uint)options.ShardNumber,
            ReplicationFactor = (uint)options.ReplicationFactor,
            WriteConsistencyFactor = (uint)options.WriteConsistencyFactor,
            OnDiskPayload = options.OnDiskPayload,
        };
        var dense = new VectorParams { Size = dimension, Distance = Enum.Parse<Distance>(options.Distance), OnDisk = options.OnDiskVectors };
        if (options.Bm25 is { Length: > 0 } language)
        {
            // Hybrid: the dense vector by name, and a BM25 vector that Qdrant computes, weighted by IDF at search time.
            request.VectorsConfig.ParamsMap = new VectorParamsMap { Map = { [CollectionShape.DenseName] = dense } };
            request.SparseVectorsConfig = new SparseVectorConfig
            {
                Map = { [CollectionShape.Bm25Name] = new SparseVectorParams { Modifier = Modifier.Idf, Index = new SparseIndexConfig { OnDisk = options.OnDiskVectors } } },
            };
            request.Metadata[CollectionShape.Bm25LanguageKey] = language;
        }
        else
        {
            request.VectorsConfig.Params = dense;
        }
        model?.WriteTo(request.Metadata);
        switch (options.Quantization)
        {
            case QuantizationKind.Scalar:
                request.QuantizationConfig = new QuantizationConfig { Scalar = new ScalarQuantization { Type = QuantizationType.Int8, Quantile = 0.99f, AlwaysRam = true } };
                break;
            case QuantizationKind.Binary:
                request.QuantizationConfig = new QuantizationConfig { Binary = new BinaryQuantization { AlwaysRam = true } };
                break;
        }
        return request;
    }
#pragma warning restore CS0612

    /// <summary>The HNSW settings that build the index of a collection created with deferred indexing.</summary>
    public static HnswConfigDiff IndexEnabled(QdrantOptions options) => new() { M = (ulong)options.HnswM, EfConstruct = (ulong)options.HnswEfConstruct };

    /// <summary>
    /// The fields the worker filters on when it deletes or reads points, each with its index: a collection in strict mode
    /// (<c>unindexed_filtering_update: false</c>) refuses a delete by filter on a field without one.
    /// </summary>
    public static readonly IReadOnlyList<(string Field, PayloadSchemaType Type)> OwnIndexes =
    [
        (PayloadFields.DocumentId, PayloadSchemaType.Keyword),
        (PayloadFields.ChunkIndex, PayloadSchemaType.Integer),
        (PayloadFields.Version, PayloadSchemaType.Integer),
        (PayloadFields.EmbeddedAt, PayloadSchemaType.Datetime),
    ];

    /// <summary>Every payload index of a new collection: the worker's own, then the configured metadata fields.</summary>
    public static IEnumerable<(string Field, PayloadSchemaType Type, PayloadIndexParams? Params)> Indexes(QdrantOptions options)
    {
        foreach (var (field, type) in OwnIndexes)
        {
            yield return (field, type, null);
        }
        foreach (var (field, kind) in options.IndexedMetadata.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var (type, indexParams) = IndexOfKind[kind];
            yield return ($"{PayloadFields.Metadata}.{field}", type, indexParams?.Clone());
        }
    }
}
