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
    /// <summary>What the retreat reads of a document's first chunk: not its text or metadata, on every finished batch.</summary>
    private static readonly WithPayloadSelector HeadFields = new()
    {
        Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId, PayloadFields.Version, PayloadFields.EmbeddedAt } },
    };

    public Task UpsertAsync(string collection, IReadOnlyList<EmbeddedChunk> chunks, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var shape = await collections.EnsureAsync(collection, chunks[0].Vector.Length, token).ConfigureAwait(false);
            try
            {
                await client.UpsertAsync(Request(collection, chunks, shape), token).ConfigureAwait(false);
            }
            catch (Grpc.Core.RpcException ex) when (QdrantErrors.IsRejection(ex))
            {
                // The alias may name a collection of another shape now (a backfill switched it to one with BM25): write
                // as that one wants; else the refusal stands.
                var current = await collections.RefreshAsync(collection, shape, chunks[0].Vector.Length, token).ConfigureAwait(false);
                if (current is null)
                {
                    throw;
                }
                await client.UpsertAsync(Request(collection, chunks, current), token).ConfigureAwait(false);
            }
        }, cancellationToken);

    private UpsertPoints Request(string collection, IReadOnlyList<EmbeddedChunk> chunks, CollectionShape shape)
    {
        var request = new UpsertPoints { CollectionName = collection, Wait = true, Points = { chunks.Select(c => points.Create(c, shape)) } };
        if (VersionFilters.UpdateFilter(chunks.Select(c => (c.Chunk.Job.Message.Id, c.Chunk.Job.Message.Version, c.Chunk.Job.OrderedAt))) is { } guard)
        {
            request.UpdateFilter = guard;
        }
        return request;
    }

    /// <summary>
    /// Removes the tails documents left when they shrank: each document's chunks from its new chunk count on, and,
    /// for a versioned document, every point of an older version whatever its index (an older version's chunks
    /// may have landed after the newer version's tail delete, from another replica). One request for many
    /// documents, so finishing a batch of short documents costs one round trip, not one each. A job ordered by time
    /// (<see cref="DocumentJob.OrderedAt"/>) passes it, so chunks written later keep their place.
    /// </summary>
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
    /// After documents were written: a document whose newest state is newer than what this job wrote loses what
    /// this job wrote. Newer means, for a versioned job, a tombstone or a first chunk of a higher version; for a job
    /// ordered by time (an unversioned job, a backfill copy), a delete or a first chunk after its time. The newer
    /// writer's own chunks were kept by this job's guard; this removes this job's chunks at indexes the newer state
    /// does not have. Whichever of two racing writers finishes second removes the older one's points, so they never
    /// stay side by side. Tombstones are read by the name jobs use (<paramref name="written"/>'s alias), heads from
    /// <paramref name="collection"/>.
    /// </summary>
    public Task RetreatFromNewerAsync(string collection, IReadOnlyCollection<(string Alias, string DocumentId, long? Version, DateTimeOffset? WrittenAt)> written, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var filter = new Filter();
            foreach (var group in written.Where(w => w.Version is not null || w.WrittenAt is not null).GroupBy(w => w.Alias, StringComparer.Ordinal))
            {
                var ids = group.Select(w => w.DocumentId).Distinct(StringComparer.Ordinal).ToList();
                var deleted = await tombstones.ReadAsync(group.Key, ids, token).ConfigureAwait(false);
                var heads = (await client.RetrieveAsync(collection, ids.Select(id => new PointId { Uuid = PointIds.For(group.Key, id, 0).ToString() }).ToList(),
                        HeadFields, new WithVectorsSelector { Enable = false }, cancellationToken: token).ConfigureAwait(false))
                    .Where(p => p.Payload.ContainsKey(PayloadFields.DocumentId))
                    .ToDictionary(p => p.Payload[PayloadFields.DocumentId].StringValue, p => p.Payload, StringComparer.Ordinal);
                foreach (var (_, documentId, version, writtenAt) in group)
                {
                    var tombstone = deleted.GetValueOrDefault(documentId);
                    var head = heads.GetValueOrDefault(documentId);
                    var newer = version is { } v
                        ? tombstone?.Version > v || (head is not null && head.TryGetValue(PayloadFields.Version, out var headVersion) && headVersion.IntegerValue > v)
                        : tombstone?.LastDeletedAt > writtenAt || (head is not null && PayloadValues.Time(head, PayloadFields.EmbeddedAt) > writtenAt);
                    if (newer)
                    {
                        filter.Should.Add(new Condition { Filter = VersionFilters.Replaceable(documentId, version, writtenAt) });
                    }
                }
            }
            if (filter.Should.Count > 0)
            {
                await client.DeleteAsync(collection, filter, wait: true, cancellationToken: token).ConfigureAwait(false);
            }
        }, cancellationToken);

    /// <summary>
    /// A document gone from a backfill's source: removed from <paramref name="target"/> as far as its tombstone
    /// says it was deleted (points written before the delete, of a version up to the deleted one). Without a
    /// tombstone the source never held it (it was created after the source stopped being written, in the target
    /// itself), so nothing is removed.
    /// </summary>
    public async Task DeleteGoneFromSourceAsync(string target, string alias, string documentId, CancellationToken cancellationToken)
    {
        var deleted = await tombstones.ReadAsync(alias, [documentId], cancellationToken).ConfigureAwait(false);
        if (deleted.TryGetValue(documentId, out var tombstone))
        {
            await DeleteDocumentAsync(target, documentId, tombstone.Version, cancellationToken, tombstone.LastDeletedAt).ConfigureAwait(false);
        }
    }

    /// <summary>Records a delete made at <paramref name="deletedAt"/>, so that an older write arriving later leaves nothing behind.</summary>
    public Task RememberDeleteAsync(string collection, string documentId, long? version, DateTimeOffset deletedAt, CancellationToken cancellationToken) =>
        tombstones.WriteAsync(collection, documentId, version, deletedAt, cancellationToken);

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
