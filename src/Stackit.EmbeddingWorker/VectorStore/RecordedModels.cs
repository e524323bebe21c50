using System.Collections.Concurrent;
using Qdrant.Client;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// The model each collection name stands for, as the collection's record says (<see cref="CollectionModel"/>),
/// remembered for <see cref="Refresh"/> so that every job does not ask Qdrant, and forgotten when the
/// <see cref="CollectionProvisioner"/> finds the name standing for another collection. A collection named in the
/// configuration that records another model than this replica's is reported as a pending backfill.
/// </summary>
internal sealed partial class RecordedModels(
    QdrantClient client,
    QdrantOptions options,
    Func<string, CancellationToken, Task<string?>> resolve,
    ILogger logger,
    EmbeddingModels? models,
    Diagnostics.WorkerMetrics? metrics)
{
    private readonly ConcurrentDictionary<string, (CollectionEmbedding? Embedding, long ReadAt)> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _pendingLogged = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _forgotten;

    /// <summary>How long the model a name stands for is taken as read: an alias switched to a collection of another model is followed within it.</summary>
    internal static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The model <paramref name="collection"/> (or the collection the alias names now) records, read again at most every
    /// <see cref="Refresh"/>; null for a collection without a record or not created yet.
    /// </summary>
    public async Task<CollectionEmbedding?> OfAsync(string collection, CancellationToken cancellationToken) =>
        _known.TryGetValue(collection, out var known) && Environment.TickCount64 - known.ReadAt < (long)Refresh.TotalMilliseconds
            ? known.Embedding
            : await ReadAsync(collection, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The model the collection records, read now. The answer is remembered only when nothing known of the collection
    /// was dropped while it was read: a read begun before an alias switch and answered after a write followed the
    /// switch would otherwise bring the old model back.
    /// </summary>
    public async Task<CollectionEmbedding?> ReadAsync(string collection, CancellationToken cancellationToken)
    {
        var generation = Volatile.Read(ref _forgotten);
        CollectionEmbedding? embedding = null;
        if (await resolve(collection, cancellationToken).ConfigureAwait(false) is { } physical)
        {
            var info = await client.GetCollectionInfoAsync(physical, cancellationToken).ConfigureAwait(false);
            if (CollectionModel.From(info.Config?.Metadata, 0) is { } recorded)
            {
                embedding = new CollectionEmbedding(recorded.Model, recorded.Dimensions);
            }
        }
        lock (_gate)
        {
            if (_forgotten == generation)
            {
                _known[collection] = (embedding, Environment.TickCount64);
            }
        }
        ReportPendingBackfill(collection, embedding);
        return embedding;
    }

    /// <summary>Drops the model remembered for <paramref name="collection"/>; reads under way then remember nothing.</summary>
    public void Forget(string collection)
    {
        lock (_gate)
        {
            _forgotten++;
            _known.TryRemove(collection, out _);
        }
    }

    /// <summary>
    /// A collection jobs name that records another model than this replica's <c>Embeddings:Model</c> is written with its
    /// own; a backfill to the configured one is pending: logged once, and counted in <c>embedding_worker.backfill.pending</c>.
    /// </summary>
    private void ReportPendingBackfill(string collection, CollectionEmbedding? embedding)
    {
        var named = string.Equals(collection, options.Collection, StringComparison.Ordinal) || options.AllowedCollections.Contains(collection, StringComparer.Ordinal);
        if (models is null || !named)
        {
            return;
        }
        var pending = embedding is not null && (!string.Equals(embedding.Model, models.Text, StringComparison.Ordinal) || embedding.Dimensions != models.TextDimensions);
        metrics?.BackfillPending(collection, pending);
        if (pending && _pendingLogged.TryAdd(collection, true))
        {
            LogBackfillPending(collection, embedding!.Model, models.Text);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Collection {Collection} records the model {Recorded}; this replica is configured with {Configured} and writes it with {Recorded}, so no collection mixes models. A backfill to {Configured} is pending (docs/backfill.md)")]
    private partial void LogBackfillPending(string collection, string recorded, string configured);
}
