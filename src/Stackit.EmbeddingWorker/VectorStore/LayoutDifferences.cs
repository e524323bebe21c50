using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// What a collection built today (the <c>Qdrant</c> options and the model it would be embedded with) would do
/// differently from an existing one: the model and vector size, BM25, distance, storage, quantization, HNSW, shards
/// and replicas, payload storage, and the configured metadata indexes. None: a backfill would build the same collection.
/// </summary>
internal static class LayoutDifferences
{
    public static List<string> Between(CollectionInfo source, CollectionModel sourceModel, QdrantOptions options, CollectionModel targetModel, string? sourceBm25)
    {
        var differences = new List<string>();
        void Compare<T>(string what, T was, T now)
        {
            if (!EqualityComparer<T>.Default.Equals(was, now))
            {
                differences.Add($"{what} {was} → {now}");
            }
        }
        if (!sourceModel.SameVectorsAs(targetModel) || sourceModel.Dimensions != targetModel.Dimensions)
        {
            differences.Add($"model {sourceModel} → {targetModel}");
        }
        Compare("BM25", sourceBm25 ?? "none", options.Bm25 is { Length: > 0 } bm25 ? bm25 : "none");
        var config = source.Config;
        var dense = config?.Params?.VectorsConfig is { } vectors
            ? vectors.ConfigCase == VectorsConfig.ConfigOneofCase.Params ? vectors.Params : vectors.ParamsMap?.Map.GetValueOrDefault(CollectionShape.DenseName)
            : null;
        Compare("distance", dense?.Distance.ToString() ?? "?", options.Distance);
#pragma warning disable CS0612 // the flags the worker sends (see CollectionLayout)
        Compare("vectors on disk", dense is { HasOnDisk: true, OnDisk: true }, options.OnDiskVectors);
        Compare("quantization", QuantizationOf(config?.QuantizationConfig), options.Quantization);
        Compare("HNSW m", config?.HnswConfig?.M ?? 16, (ulong)options.HnswM);
        Compare("HNSW ef_construct", config?.HnswConfig?.EfConstruct ?? 100, (ulong)options.HnswEfConstruct);
        Compare("shards", config?.Params?.ShardNumber ?? 1, (uint)options.ShardNumber);
        Compare("replication factor", config?.Params?.ReplicationFactor ?? 1, (uint)options.ReplicationFactor);
        Compare("write consistency factor", config?.Params?.WriteConsistencyFactor ?? 1, (uint)options.WriteConsistencyFactor);
        Compare("payload on disk", config?.Params?.OnDiskPayload ?? false, options.OnDiskPayload);
#pragma warning restore CS0612
        // The worker's own indexes are not counted: it adds the ones strict mode needs in place.
        var own = CollectionLayout.OwnIndexes.Select(i => i.Field).ToHashSet(StringComparer.Ordinal);
        foreach (var (field, _, _) in CollectionLayout.Indexes(options).Where(i => !own.Contains(i.Field) && !source.PayloadSchema.ContainsKey(i.Field)))
        {
            differences.Add($"payload index on {field} none → new");
        }
        return differences;
    }

    private static QuantizationKind QuantizationOf(QuantizationConfig? config) => config?.QuantizationCase switch
    {
        QuantizationConfig.QuantizationOneofCase.Scalar => QuantizationKind.Scalar,
        QuantizationConfig.QuantizationOneofCase.Binary => QuantizationKind.Binary,
        _ => QuantizationKind.None,
    };
}
