using System.Collections.Concurrent;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Whether a backfill's source holds the vectors its target would (same model, same size, both recorded or read from
/// their points), read once per pair of collections: then a chunk whose <c>content_hash</c> the source holds is copied
/// with the source's vector, not embedded.
/// </summary>
internal sealed class SharedVectors(CollectionProvisioner collections)
{
    private readonly ConcurrentDictionary<(string Source, string Target), CollectionModel?> _known = new();

    /// <summary>The model both collections hold, or null when their vectors differ.</summary>
    public async Task<CollectionModel?> BetweenAsync(string source, string target, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue((source, target), out var shared))
        {
            return shared;
        }
        var (sourceModel, _) = await collections.ReadModelAsync(source, cancellationToken).ConfigureAwait(false);
        var (targetModel, _) = await collections.ReadModelAsync(target, cancellationToken).ConfigureAwait(false);
        shared = sourceModel.SameVectorsAs(targetModel) ? sourceModel : null;
        _known[(source, target)] = shared;
        return shared;
    }
}
