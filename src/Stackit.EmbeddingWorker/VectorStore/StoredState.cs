using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// What Qdrant already holds of the documents of a group of jobs: one scroll per collection for the whole group,
/// so the version guard and skip-unchanged cost a round trip per group, not per job. Not read at all when no job
/// of the group could use it (no versions, and <c>Qdrant:SkipUnchanged</c> off, or an unversioned copy that brings the
/// source's vectors with it). A group with versioned jobs also
/// reads their tombstones (one retrieve by id per collection): a versioned delete counts as a stored version.
/// </summary>
internal sealed class StoredState(QdrantPointReader reader, TombstoneStore tombstones, QdrantOptions options, CollectionProvisioner collections) : IStoredDocuments
{
    public bool ReusesUnchanged => options.SkipUnchanged;

    public Task<CollectionEmbedding?> EmbeddingOfAsync(string collection, CancellationToken cancellationToken) =>
        collections.EmbeddingOfAsync(collection, cancellationToken);

    public async Task<Dictionary<DocumentJob, StoredDocument>> ReadAsync(IReadOnlyList<DocumentJob> jobs, CancellationToken cancellationToken)
    {
        var stored = new Dictionary<DocumentJob, StoredDocument>(jobs.Count);
        foreach (var job in jobs.Where(TakesItsVectorsFromTheSource))
        {
            // What the target holds changes nothing for it: each chunk is the source's, vector and all, or embedded.
            stored[job] = StoredDocument.None with { SourceHashes = SourceHashesOf(job.Copy!.SourceHashes!) };
        }
        // A backfill copy reads the target it writes; tombstones are kept by the name jobs use (the alias).
        foreach (var group in jobs.Where(NeedsStoredState).GroupBy(j => (j.WriteCollection, j.Message.Collection)))
        {
            var ids = group.Select(j => j.Message.Id).Distinct(StringComparer.Ordinal).ToList();
            var documents = await reader.ReadDocumentsAsync(group.Key.WriteCollection, ids, cancellationToken).ConfigureAwait(false);
            var deleted = group.Any(j => j.Message.Version is not null)
                ? await tombstones.ReadAsync(group.Key.Collection, ids, cancellationToken).ConfigureAwait(false)
                : [];
            foreach (var job in group)
            {
                var document = documents.GetValueOrDefault(job.Message.Id) ?? StoredDocument.None;
                if (job.Copy is { SharesVectors: true, SourceHashes: { } hashes })
                {
                    document = document with { SourceHashes = SourceHashesOf(hashes) };
                }
                // A versioned delete counts as the newest stored version: an older job then changes nothing.
                stored[job] = deleted.TryGetValue(job.Message.Id, out var tombstone) && tombstone.Version is { } deletedAt && !(document.Version >= deletedAt)
                    ? document with { Version = deletedAt }
                    : document;
            }
        }
        return stored;
    }

    /// <summary>
    /// The stored vectors of unchanged chunks, by chunk. A chunk whose point is gone meanwhile has none and
    /// must be embedded after all.
    /// </summary>
    public async Task<Dictionary<DocumentChunk, float[]>> ReadVectorsAsync(IReadOnlyList<(DocumentChunk Chunk, bool FromSource)> chunks, CancellationToken cancellationToken)
    {
        var vectors = new Dictionary<DocumentChunk, float[]>(chunks.Count);
        // Point ids derive from the alias, the same in a backfill's source and target.
        foreach (var group in chunks.GroupBy(c => (From: c.FromSource ? c.Chunk.Job.Copy!.SourceCollection! : c.Chunk.Job.WriteCollection, c.Chunk.Job.Message.Collection), c => c.Chunk))
        {
            var ids = group.ToDictionary(c => PointIds.For(group.Key.Collection, c.Job.Message.Id, c.Index));
            var found = await reader.ReadVectorsAsync(group.Key.From, ids.Keys, cancellationToken).ConfigureAwait(false);
            foreach (var (id, chunk) in ids)
            {
                if (found.TryGetValue(id, out var vector))
                {
                    vectors[chunk] = vector;
                }
            }
        }
        return vectors;
    }

    private static Dictionary<int, string> SourceHashesOf(IReadOnlyList<string?> hashes)
    {
        var byIndex = new Dictionary<int, string>(hashes.Count);
        for (var i = 0; i < hashes.Count; i++)
        {
            if (hashes[i] is { } hash)
            {
                byIndex[i] = hash;
            }
        }
        return byIndex;
    }

    private bool NeedsStoredState(DocumentJob job) =>
        job.Message.Version is not null || (options.SkipUnchanged && job.Message.Operation == JobOperation.Upsert && !TakesItsVectorsFromTheSource(job));

    /// <summary>
    /// An unversioned copy read with the source's vectors (<see cref="BackfillSourceReader"/>): no version to guard, and
    /// every chunk the source holds comes with its vector, so the target's state is not read for it.
    /// </summary>
    private bool TakesItsVectorsFromTheSource(DocumentJob job) =>
        options.SkipUnchanged && job.Message.Version is null && job.Message.Operation == JobOperation.Upsert
        && job.Copy is { CarriesEveryVector: true };
}
