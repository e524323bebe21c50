using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Makes sure a collection exists with the vector size the model produces, created on first use with
/// the configured distance and payload indexes on <c>doc_id</c> and <c>chunk_index</c>. A collection whose
/// vector size differs from the model's is a permanent rejection, not something to retry.
/// </summary>
internal sealed partial class CollectionProvisioner(QdrantClient client, QdrantOptions options, ILogger<CollectionProvisioner> logger)
{
    private readonly ConcurrentDictionary<string, ulong> _dimensions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task EnsureAsync(string collection, int dimension, CancellationToken cancellationToken)
    {
        if (!_dimensions.TryGetValue(collection, out var known))
        {
            known = await ProvisionAsync(collection, (ulong)dimension, cancellationToken).ConfigureAwait(false);
        }
        if (known != (ulong)dimension)
        {
            throw new VectorStoreRejectedException($"collection '{collection}' holds vectors of dimension {known}, but the model returned {dimension}.");
        }
    }

    /// <summary>True when the collection exists; a delete in a missing collection has nothing to do.</summary>
    public async Task<bool> ExistsAsync(string collection, CancellationToken cancellationToken) =>
        _dimensions.ContainsKey(collection) || await client.CollectionExistsAsync(collection, cancellationToken).ConfigureAwait(false);

    private async Task<ulong> ProvisionAsync(string collection, ulong dimension, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_dimensions.TryGetValue(collection, out var known))
            {
                return known;
            }
            if (!await client.CollectionExistsAsync(collection, cancellationToken).ConfigureAwait(false))
            {
                await CreateAsync(collection, dimension, cancellationToken).ConfigureAwait(false);
            }
            var size = await ReadDimensionAsync(collection, cancellationToken).ConfigureAwait(false);
            _dimensions[collection] = size;
            return size;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CreateAsync(string collection, ulong dimension, CancellationToken cancellationToken)
    {
        var distance = Enum.Parse<Distance>(options.Distance);
        try
        {
            await client.CreateCollectionAsync(collection, new VectorParams { Size = dimension, Distance = distance }, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogCreated(collection, dimension, options.Distance);
        }
        catch (RpcException ex) when (ex.Status.Detail.Contains("already exists", StringComparison.OrdinalIgnoreCase))
        {
            // Another replica created it first; its vector size is checked below.
        }
        await client.CreatePayloadIndexAsync(collection, PayloadFields.DocumentId, PayloadSchemaType.Keyword, cancellationToken: cancellationToken).ConfigureAwait(false);
        await client.CreatePayloadIndexAsync(collection, PayloadFields.ChunkIndex, PayloadSchemaType.Integer, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<ulong> ReadDimensionAsync(string collection, CancellationToken cancellationToken)
    {
        var info = await client.GetCollectionInfoAsync(collection, cancellationToken).ConfigureAwait(false);
        var vectors = info.Config?.Params?.VectorsConfig;
        if (vectors?.ConfigCase != VectorsConfig.ConfigOneofCase.Params)
        {
            throw new VectorStoreRejectedException($"collection '{collection}' uses named vectors; this worker writes one unnamed vector per point.");
        }
        return vectors.Params.Size;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created collection {Collection} with {Dimension} dimensions ({Distance})")]
    private partial void LogCreated(string collection, ulong dimension, string distance);
}
