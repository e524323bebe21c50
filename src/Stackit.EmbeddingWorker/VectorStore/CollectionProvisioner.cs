using System.Collections.Concurrent;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Makes sure a collection exists with the vector size the model produces. A missing collection <c>X</c> is
/// created as <c>X_v1</c> with the alias <c>X</c> pointing to it (configured distance, payload indexes on
/// <c>doc_id</c> and <c>chunk_index</c>), so a backfill can later re-embed into <c>X_v2</c> and switch the alias
/// atomically; a plain collection <c>X</c> made before that is used as it is. A collection whose vector size
/// differs from the model's is a permanent rejection, not something to retry.
/// </summary>
internal sealed partial class CollectionProvisioner(QdrantClient client, QdrantOptions options, ILogger<CollectionProvisioner> logger, EmbeddingModels? models = null, Diagnostics.WorkerMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<string, CollectionShape> _shapes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private RecordedModels? _recorded;

    /// <summary>
    /// The models the collections record, as this provisioner resolves their names: one instance, made at first use (a
    /// field initializer cannot name the instance method that resolves). Read on every job, so the factory delegate is
    /// made only while there is none yet.
    /// </summary>
    private RecordedModels Recorded =>
        _recorded ?? LazyInitializer.EnsureInitialized(ref _recorded, () => new RecordedModels(client, options, ResolveAsync, logger, models, metrics));

    /// <summary>
    /// The collection's shape (its vectors), after creating it if it is missing, recording <paramref name="model"/> (the
    /// model that made the vectors about to be written) as the model of a collection it creates.
    /// </summary>
    public async Task<CollectionShape> EnsureAsync(string collection, int dimension, CancellationToken cancellationToken, string? model = null)
    {
        if (!_shapes.TryGetValue(collection, out var known))
        {
            known = await ProvisionAsync(collection, (ulong)dimension, model, cancellationToken).ConfigureAwait(false);
        }
        if (known.Dimension != (ulong)dimension)
        {
            // Known from before an alias switch? Read it again before refusing.
            return await FollowAsync(collection, known, await ReadShapeAsync(collection, cancellationToken).ConfigureAwait(false), dimension, model, cancellationToken).ConfigureAwait(false);
        }
        return known;
    }

    private static VectorStoreRejectedException Mismatch(string collection, ulong held, int returned) =>
        new($"collection '{collection}' holds vectors of dimension {held}, but the model returned {returned}.");

    /// <summary>
    /// The model <paramref name="collection"/> (or the collection the alias names now) records, read again at most every
    /// <see cref="RecordedModels.Refresh"/>; null for a collection without a record or not created yet.
    /// </summary>
    public Task<CollectionEmbedding?> EmbeddingOfAsync(string collection, CancellationToken cancellationToken) =>
        Recorded.OfAsync(collection, cancellationToken);

    /// <summary>
    /// After Qdrant refused a write: the collection's shape read again, when it is not the one known (an alias switched
    /// to a collection of another shape); null when it is the same, and the refusal has another cause.
    /// </summary>
    /// <remarks>
    /// When the collection now records another model than the one that made these vectors (an alias switched to a
    /// collection of another model), the write is not refused but fails as <see cref="CollectionChangedException"/>: its
    /// job is tried again and then embedded with the new collection's model.
    /// </remarks>
    public async Task<CollectionShape?> RefreshAsync(string collection, CollectionShape known, int dimension, CancellationToken cancellationToken, string? model = null)
    {
        var current = await ReadShapeAsync(collection, cancellationToken).ConfigureAwait(false);
        // Nothing changed that this write does not fit: the refusal has another cause.
        return current == known && current.Dimension == (ulong)dimension
            ? null
            : await FollowAsync(collection, known, current, dimension, model, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The collection as it is now (<paramref name="current"/>) for a write of <paramref name="dimension"/>: remembered when
    /// it changed, and returned when the write fits it. When it does not fit and the collection records another model,
    /// the job was embedded for the collection the alias named before (known here already when another write of that
    /// model came first): <see cref="CollectionChangedException"/>, it is embedded again, never refused; else a mismatch.
    /// </summary>
    private async Task<CollectionShape> FollowAsync(string collection, CollectionShape known, CollectionShape current, int dimension, string? model, CancellationToken cancellationToken)
    {
        if (current != known)
        {
            _shapes[collection] = current;
            Recorded.Forget(collection);
            if (current.Dimension == (ulong)dimension)
            {
                return current;
            }
        }
        // Read now, not remembered: the write's fate hangs on it, and it is rare.
        if (model is not null && await Recorded.ReadAsync(collection, cancellationToken).ConfigureAwait(false) is { } recorded && !string.Equals(recorded.Model, model, StringComparison.Ordinal))
        {
            throw new CollectionChangedException($"collection '{collection}' now holds vectors of {recorded.Model} ({current.Dimension} dimensions); the job is embedded again with it.");
        }
        throw Mismatch(collection, current.Dimension, dimension);
    }

    /// <summary>Forgets what is known of a collection that Qdrant no longer finds; the next write provisions it again.</summary>
    public void Forget(string collection)
    {
        _shapes.TryRemove(collection, out _);
        Recorded.Forget(collection);
    }

    /// <summary>The collection a name stands for: the alias's target, the collection of that name, or null.</summary>
    public async Task<string?> ResolveAsync(string name, CancellationToken cancellationToken) =>
        await ResolveAsync(name, await AliasesAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>As <see cref="ResolveAsync(string, CancellationToken)"/>, with the aliases already read.</summary>
    public async Task<string?> ResolveAsync(string name, IReadOnlyDictionary<string, string> aliases, CancellationToken cancellationToken) =>
        aliases.TryGetValue(name, out var target) ? target
        : await client.CollectionExistsAsync(name, cancellationToken).ConfigureAwait(false) ? name
        : null;

    /// <summary>Every alias, with the collection it points to.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AliasesAsync(CancellationToken cancellationToken) =>
        (await client.ListAliasesAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(a => a.AliasName, a => a.CollectionName, StringComparer.Ordinal);

    /// <summary>
    /// Creates a collection for vectors of <paramref name="dimension"/> laid out as <see cref="CollectionLayout"/> says,
    /// with the payload indexes the worker filters on and those configured for metadata.
    /// </summary>
    public async Task CreateCollectionAsync(string collection, ulong dimension, CancellationToken cancellationToken, bool deferIndexing = false, CollectionModel? model = null)
    {
        await QdrantVersionGate.CheckAsync(client, options, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.CreateCollectionAsync(CollectionLayout.Request(collection, dimension, options, deferIndexing, model), cancellationToken).ConfigureAwait(false);
            LogCreated(collection, dimension, options.Distance, options.OnDiskVectors ? "on disk" : "in RAM", options.Quantization, deferIndexing ? 0 : options.HnswM, options.ShardNumber, options.ReplicationFactor);
        }
        catch (Exception ex) when (QdrantErrors.IsAlreadyExists(ex))
        {
            // Another replica created it first; its vector size is checked after.
        }
        foreach (var (field, type, indexParams) in CollectionLayout.Indexes(options))
        {
            await client.CreatePayloadIndexAsync(collection, field, type, indexParams, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The vector size of a collection (or of the collection an alias points to).</summary>
    public async Task<ulong> ReadDimensionAsync(string collection, CancellationToken cancellationToken) =>
        (await ReadShapeAsync(collection, cancellationToken).ConfigureAwait(false)).Dimension;

    /// <summary>The vectors of a collection (or of the collection an alias points to), as <see cref="CollectionShape"/> reads them.</summary>
    public async Task<CollectionShape> ReadShapeAsync(string collection, CancellationToken cancellationToken) =>
        CollectionShape.Of(collection, (await ReadInfoAsync(collection, cancellationToken).ConfigureAwait(false)).Info, options.Bm25);

    /// <summary>The collection a name stands for now, and its info (a missing one is asked for by the name, which Qdrant answers NotFound).</summary>
    private async Task<(string Physical, CollectionInfo Info)> ReadInfoAsync(string name, CancellationToken cancellationToken)
    {
        var physical = await ResolveAsync(name, cancellationToken).ConfigureAwait(false) ?? name;
        return (physical, await client.GetCollectionInfoAsync(physical, cancellationToken).ConfigureAwait(false));
    }

    private async Task<CollectionShape> ProvisionAsync(string collection, ulong dimension, string? model, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_shapes.TryGetValue(collection, out var known))
            {
                return known;
            }
            // Each collection is written only once the server is known to keep the order of writes (a new one: by
            // CreateCollectionAsync, which checks before it creates).
            CollectionShape shape;
            if (await ResolveAsync(collection, cancellationToken).ConfigureAwait(false) is { } physical)
            {
                await QdrantVersionGate.CheckAsync(client, options, cancellationToken).ConfigureAwait(false);
                var info = await client.GetCollectionInfoAsync(physical, cancellationToken).ConfigureAwait(false);
                await IndexForStrictModeAsync(physical, info, cancellationToken).ConfigureAwait(false);
                shape = CollectionShape.Of(collection, info, options.Bm25);
            }
            else
            {
                await CreateAliasedAsync(collection, dimension, RecordFor(collection, dimension, model), cancellationToken).ConfigureAwait(false);
                shape = await ReadShapeAsync(collection, cancellationToken).ConfigureAwait(false);
            }
            _shapes[collection] = shape;
            return shape;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A collection made before the worker indexed every field it filters on (or by hand) that runs in strict mode
    /// without unindexed filtering gets the missing indexes of the worker's own fields, so its deletes are not refused.
    /// </summary>
    private async Task IndexForStrictModeAsync(string collection, CollectionInfo info, CancellationToken cancellationToken)
    {
        if (info.Config.StrictModeConfig is not { Enabled: true } strict
            || (strict is not { HasUnindexedFilteringUpdate: true, UnindexedFilteringUpdate: false } && strict is not { HasUnindexedFilteringRetrieve: true, UnindexedFilteringRetrieve: false }))
        {
            return;
        }
        foreach (var (field, type) in CollectionLayout.OwnIndexes.Where(f => !info.PayloadSchema.ContainsKey(f.Field)))
        {
            await client.CreatePayloadIndexAsync(collection, field, type, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogIndexedForStrictMode(collection, field);
        }
    }

    /// <summary>The model record of a collection the worker creates for vectors of <paramref name="model"/>.</summary>
    private CollectionModel? RecordFor(string collection, ulong dimension, string? model)
    {
        var multimodal = string.Equals(collection, options.MultimodalCollection, StringComparison.Ordinal);
        return model is null ? null : new CollectionModel(model, dimension, multimodal ? models?.MultimodalDimensions : models?.TextDimensions, multimodal);
    }

    /// <summary>
    /// The model of a collection (or of the one an alias names): its record, or for a collection made before the worker
    /// kept one, the model its points name (the <c>model</c> payload of one point), else the one configured for its kind.
    /// </summary>
    public async Task<(CollectionModel Model, bool Recorded)> ReadModelAsync(string collection, CancellationToken cancellationToken)
    {
        var (physical, info) = await ReadInfoAsync(collection, cancellationToken).ConfigureAwait(false);
        var size = CollectionShape.Of(collection, info, options.Bm25).Dimension;
        if (CollectionModel.From(info.Config?.Metadata, size) is { } recorded)
        {
            return (recorded, true);
        }
        var multimodal = string.Equals(collection, options.MultimodalCollection, StringComparison.Ordinal);
        var page = await client.ScrollAsync(physical, limit: 1, payloadSelector: new WithPayloadSelector { Include = new PayloadIncludeSelector { Fields = { PayloadFields.Model } } }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var named = page.Result.Select(p => p.Payload.TryGetValue(PayloadFields.Model, out var m) ? m.StringValue : null).FirstOrDefault(m => m is { Length: > 0 });
        var model = named ?? (multimodal ? models?.Multimodal : models?.Text) ?? "unknown";
        return (new CollectionModel(model, size, null, multimodal), false);
    }

    private async Task CreateAliasedAsync(string name, ulong dimension, CollectionModel? model, CancellationToken cancellationToken)
    {
        var first = name + "_v1";
        await CreateCollectionAsync(first, dimension, cancellationToken, model: model).ConfigureAwait(false);
        // Creating an alias that exists re-points it (Qdrant's update_aliases): one another replica made meanwhile stays.
        if ((await AliasesAsync(cancellationToken).ConfigureAwait(false)).ContainsKey(name))
        {
            return;
        }
        try
        {
            await client.CreateAliasAsync(name, first, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogAliased(name, first);
        }
        catch (Exception ex) when (QdrantErrors.IsAlreadyExists(ex))
        {
            // A collection of that name was made meanwhile: it is used as it is.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created collection {Collection} with {Dimension} dimensions ({Distance}), vectors {Storage}, quantization {Quantization}, HNSW m {HnswM}, {Shards} shard(s), replication factor {Replication}")]
    private partial void LogCreated(string collection, ulong dimension, string distance, string storage, QuantizationKind quantization, int hnswM, int shards, int replication);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Collection {Collection} runs in strict mode without unindexed filtering; created the payload index on {Field} that the worker's deletes filter on")]
    private partial void LogIndexedForStrictMode(string collection, string field);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alias {Alias} now points to collection {Collection}")]
    private partial void LogAliased(string alias, string collection);
}
