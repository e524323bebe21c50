using System.Collections.Concurrent;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Whether a backfill's source holds the vectors its target would (same model, same size, both recorded or read from
/// their points), read once per pair of collections: then a chunk whose <c>content_hash</c> the source holds is copied
/// with the source's vector, not embedded.
/// </summary>
internal sealed class SharedVectors(CollectionProvisioner collections)
{
    private readonly ConcurrentDictionary<(string Source, string Target), bool> _known = new();

    public async Task<bool> BetweenAsync(string source, string target, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue((source, target), out var same))
        {
            return same;
        }
        var (sourceModel, _) = await collections.ReadModelAsync(source, cancellationToken).ConfigureAwait(false);
        var (targetModel, _) = await collections.ReadModelAsync(target, cancellationToken).ConfigureAwait(false);
        same = sourceModel.SameVectorsAs(targetModel);
        _known[(source, target)] = same;
        return same;
    }
}
