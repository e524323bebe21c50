using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Writes and deletes points with <c>wait=true</c>, so a call that returns means the change is applied.
/// Every write carries the version guard (<see cref="VersionFilters"/>): points of a newer version stay.
/// Transient gRPC failures are retried; rejections surface as <see cref="VectorStoreRejectedException"/>.
/// </summary>
internal sealed class QdrantPointWriter(QdrantClient client, CollectionProvisioner collections, PointFactory points, QdrantCalls calls, TombstoneStore tombstones)
{
    public Task UpsertAsync(string collection, IReadOnlyList<EmbeddedChunk> chunks, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            await collections.EnsureAsync(collection, chunks[0].Vector.Length, token).ConfigureAwait(false);
            var request = new UpsertPoints { CollectionName = collection, Wait = true, Points = { chunks.Select(points.Create) } };
            if (VersionFilters.UpdateFilter(chunks.Select(c => (c.Chunk.Job.Message.Id, c.Chunk.Job.Message.Version, c.Chunk.Job.Copy?.WrittenAt))) is { } guard)
            {
                request.UpdateFilter = guard;
            }
            await client.UpsertAsync(request, token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Removes the tails documents left when they shrank: each document's chunks from its new chunk count on, and,
    /// for a versioned document, every point of an older version whatever its index (an older version's chunks
    /// may have landed after the newer version's tail delete, from another replica). One request for many
    /// documents, so finishing a batch of short documents costs one round trip, not one each.
    /// </summary>
    public Task DeleteStaleChunksAsync(string collection, IReadOnlyCollection<(string DocumentId, int ChunkCount, long? Version)> documents, CancellationToken cancellationToken) =>
        DeleteStaleChunksAsync(collection, [.. documents.Select(d => (d.DocumentId, d.ChunkCount, d.Version, (DateTimeOffset?)null))], cancellationToken);

    /// <summary>As above; a backfill copy passes when the source wrote it, so later writes keep their chunks.</summary>
    public Task DeleteStaleChunksAsync(string collection, IReadOnlyCollection<(string DocumentId, int ChunkCount, long? Version, DateTimeOffset? WrittenAt)> documents, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var filter = new Filter();
            foreach (var (documentId, chunkCount, version, writtenAt) in documents)
            {
                var tail = VersionFilters.Replaceable(documentId, version, writtenAt);
                tail.Must.Add(Range(PayloadFields.ChunkIndex, new Qdrant.Client.Grpc.Range { Gte = chunkCount }));
                filter.Should.Add(new Condition { Filter = tail });
                if (version is { } v)
                {
                    filter.Should.Add(new Condition { Filter = VersionFilters.Older(documentId, v) });
                }
            }
            await client.DeleteAsync(collection, filter, wait: true, cancellationToken: token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// After versioned documents were written: a document whose newest state is newer than what this job wrote
    /// (a tombstone of a later delete, or a later version's first chunk) loses what this job wrote. Whichever
    /// of the two writers comes second removes the older one's points, so they never stay side by side.
    /// </summary>
    public Task RetreatFromNewerAsync(string collection, IReadOnlyCollection<(string DocumentId, long Version)> written, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            if (written.Count == 0)
            {
                return;
            }
            var ids = written.Select(w => w.DocumentId).Distinct(StringComparer.Ordinal).ToList();
            var deleted = await tombstones.ReadAsync(collection, ids, token).ConfigureAwait(false);
            var heads = await client.RetrieveAsync(collection, ids.Select(id => new PointId { Uuid = PointIds.For(collection, id, 0).ToString() }).ToList(),
                withPayload: true, withVectors: false, cancellationToken: token).ConfigureAwait(false);
            var headVersions = heads
                .Where(p => p.Payload.ContainsKey(PayloadFields.Version))
                .ToDictionary(p => p.Payload[PayloadFields.DocumentId].StringValue, p => p.Payload[PayloadFields.Version].IntegerValue, StringComparer.Ordinal);
            var filter = new Filter();
            foreach (var (documentId, version) in written)
            {
                if (deleted.TryGetValue(documentId, out var deletedAt) && deletedAt > version)
                {
                    filter.Should.Add(new Condition { Filter = VersionFilters.Replaceable(documentId, deletedAt) });
                }
                else if (headVersions.TryGetValue(documentId, out var head) && head > version)
                {
                    filter.Should.Add(new Condition { Filter = VersionFilters.Replaceable(documentId, version) });
                }
            }
            if (filter.Should.Count > 0)
            {
                await client.DeleteAsync(collection, filter, wait: true, cancellationToken: token).ConfigureAwait(false);
            }
        }, cancellationToken);

    /// <summary>Records a versioned delete, so that an older upsert arriving later writes nothing.</summary>
    public Task RememberDeleteAsync(string collection, string documentId, long version, CancellationToken cancellationToken) =>
        tombstones.WriteAsync(collection, documentId, version, cancellationToken);

    /// <summary>Removes every point of a document, except those a newer version than <paramref name="version"/> wrote.</summary>
    public Task DeleteDocumentAsync(string collection, string documentId, long? version, CancellationToken cancellationToken, DateTimeOffset? writtenAt = null) =>
        DeleteDocumentsAsync(collection, [(documentId, version, writtenAt)], cancellationToken);

    /// <summary>
    /// Removes every point of these documents, except those newer versions wrote, in one call. A collection that
    /// does not exist has nothing to remove.
    /// </summary>
    public Task DeleteDocumentsAsync(string collection, IReadOnlyCollection<(string DocumentId, long? Version, DateTimeOffset? WrittenAt)> documents, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            if (documents.Count == 0)
            {
                return;
            }
            var filter = documents.Count == 1
                ? VersionFilters.Replaceable(documents.First().DocumentId, documents.First().Version, documents.First().WrittenAt)
                : new Filter { Should = { documents.Select(d => new Condition { Filter = VersionFilters.Replaceable(d.DocumentId, d.Version, d.WrittenAt) }) } };
            try
            {
                await client.DeleteAsync(collection, filter, wait: true, cancellationToken: token).ConfigureAwait(false);
            }
            catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                // A delete in a collection that does not exist has nothing to do.
            }
        }, cancellationToken);
}
