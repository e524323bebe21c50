using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// The ordering rule in the vector store, in one place (docs/qdrant.md, Order). Every decision is taken from a job's
/// <see cref="OrderedWrite"/> — its document, version and ordering time:
/// <list type="bullet">
/// <item>what an upsert may replace: its <c>update_filter</c> (<see cref="VersionFilters.UpdateFilter"/>, which the
/// writer sends with every upsert);</item>
/// <item>what a finished write deletes (<see cref="FinishAsync"/>): its stale tail and any older version's points,
/// then, if a newer state raced it, what it wrote itself;</item>
/// <item>what a delete remembers and removes (<see cref="DeleteAsync"/>): its tombstone first, then the points it
/// may remove;</item>
/// <item>what a withdrawal or a change of modality removes (<see cref="RemoveAsync"/>), and what a document gone
/// from a backfill's source loses (<see cref="DeleteGoneFromSourceAsync"/>).</item>
/// </list>
/// Nothing else writes tombstones or deletes points (the architecture test holds it). Each method is one retried
/// call or a short sequence of them; a retried call never runs another retried call.
/// </summary>
internal sealed class DocumentOrdering(QdrantClient client, QdrantCalls calls, TombstoneStore tombstones)
{
    /// <summary>What the retreat reads of a document's first chunk: not its text or metadata, on every finished batch.</summary>
    private static readonly WithPayloadSelector HeadFields = new()
    {
        Include = new PayloadIncludeSelector { Fields = { PayloadFields.DocumentId, PayloadFields.Version, PayloadFields.EmbeddedAt } },
    };

    /// <summary>
    /// Documents whose last chunk is stored: their stale tails go, then each retreats from a newer state that raced it
    /// (<see cref="RetreatFromNewerAsync"/>). <paramref name="finished"/> names each write's alias, under which point ids
    /// and tombstones are kept.
    /// </summary>
    public async Task FinishAsync(string collection, IReadOnlyCollection<(string Alias, OrderedWrite Write, int ChunkCount)> finished, CancellationToken cancellationToken)
    {
        await DeleteStaleChunksAsync(collection, finished.Select(f => (f.Write, f.ChunkCount)).ToList(), cancellationToken).ConfigureAwait(false);
        await RetreatFromNewerAsync(collection, finished.Select(f => (f.Alias, f.Write)).ToList(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A delete taken in at <paramref name="deletedAt"/>: the tombstone first, so an older write that passed its check
    /// before it is removed by the delete below, and one that checks after it finds the tombstone
    /// (<see cref="RetreatFromNewerAsync"/>); then every point the delete may remove.
    /// </summary>
    public async Task DeleteAsync(string collection, OrderedWrite write, DateTimeOffset deletedAt, CancellationToken cancellationToken)
    {
        await tombstones.WriteAsync(collection, write.DocumentId, write.Version, deletedAt, cancellationToken).ConfigureAwait(false);
        await DeleteDocumentAsync(collection, write, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes what these writes could replace (a rejected job's withdrawal; a document's points in the other modality's
    /// collection): never a newer write's points, and no tombstone.
    /// </summary>
    public Task RemoveAsync(string collection, IReadOnlyCollection<OrderedWrite> writes, CancellationToken cancellationToken) =>
        DeleteDocumentsAsync(collection, writes, cancellationToken);

    /// <summary>
    /// Removes the tails documents left when they shrank: each document's chunks from its new chunk count on, and,
    /// for a versioned document, every point of an older version whatever its index (an older version's chunks
    /// may have landed after the newer version's tail delete, from another replica). One request for many
    /// documents, so finishing a batch of short documents costs one round trip, not one each. A job ordered by time
    /// (<see cref="DocumentJob.OrderedAt"/>) passes it, so chunks written later keep their place.
    /// </summary>
    public Task DeleteStaleChunksAsync(string collection, IReadOnlyCollection<(OrderedWrite Write, int ChunkCount)> documents, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var filter = new Filter();
            foreach (var (write, chunkCount) in documents)
            {
                var tail = VersionFilters.Replaceable(write);
                tail.Must.Add(Range(PayloadFields.ChunkIndex, new Qdrant.Client.Grpc.Range { Gte = chunkCount }));
                filter.Should.Add(new Condition { Filter = tail });
                if (write.Version is { } v)
                {
                    filter.Should.Add(new Condition { Filter = VersionFilters.Older(write.DocumentId, v) });
                }
            }
            await DeleteWhereAsync(collection, filter, token).ConfigureAwait(false);
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
    public Task RetreatFromNewerAsync(string collection, IReadOnlyCollection<(string Alias, OrderedWrite Write)> written, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var filter = new Filter();
            foreach (var group in written.Where(w => w.Write.IsOrdered).GroupBy(w => w.Alias, StringComparer.Ordinal))
            {
                var ids = group.Select(w => w.Write.DocumentId).Distinct(StringComparer.Ordinal).ToList();
                // Inside this call's retries: the read is not retried again on its own.
                var deleted = await tombstones.ReadOnceAsync(group.Key, ids, token).ConfigureAwait(false);
                var heads = (await client.RetrieveAsync(collection, ids.Select(id => new PointId { Uuid = PointIds.For(group.Key, id, 0).ToString() }).ToList(),
                        HeadFields, new WithVectorsSelector { Enable = false }, cancellationToken: token).ConfigureAwait(false))
                    .Where(p => p.Payload.ContainsKey(PayloadFields.DocumentId))
                    .ToDictionary(p => p.Payload[PayloadFields.DocumentId].StringValue, p => p.Payload, StringComparer.Ordinal);
                foreach (var (_, write) in group)
                {
                    var tombstone = deleted.GetValueOrDefault(write.DocumentId);
                    var head = heads.GetValueOrDefault(write.DocumentId);
                    var newer = write.Version is { } v
                        ? tombstone?.Version > v || (head is not null && head.TryGetValue(PayloadFields.Version, out var headVersion) && headVersion.IntegerValue > v)
                        : tombstone?.LastDeletedAt > write.OrderedAt || (head is not null && PayloadValues.Time(head, PayloadFields.EmbeddedAt) > write.OrderedAt);
                    if (newer)
                    {
                        filter.Should.Add(new Condition { Filter = VersionFilters.Replaceable(write) });
                    }
                }
            }
            if (filter.Should.Count > 0)
            {
                await DeleteWhereAsync(collection, filter, token).ConfigureAwait(false);
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
            await DeleteDocumentAsync(target, new OrderedWrite(documentId, tombstone.Version, tombstone.LastDeletedAt), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records a delete made at <paramref name="deletedAt"/>, so that an older write arriving later leaves nothing behind.</summary>
    public Task RememberDeleteAsync(string collection, string documentId, long? version, DateTimeOffset deletedAt, CancellationToken cancellationToken) =>
        tombstones.WriteAsync(collection, documentId, version, deletedAt, cancellationToken);

    /// <summary>Removes every point of a document that <paramref name="write"/> may replace (never a newer write's).</summary>
    public Task DeleteDocumentAsync(string collection, OrderedWrite write, CancellationToken cancellationToken) =>
        DeleteDocumentsAsync(collection, [write], cancellationToken);

    /// <summary>
    /// Removes every point of these documents, except those newer versions wrote, in one call. A collection that
    /// does not exist has nothing to remove.
    /// </summary>
    public Task DeleteDocumentsAsync(string collection, IReadOnlyCollection<OrderedWrite> documents, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            if (documents.Count == 0)
            {
                return;
            }
            var filter = documents.Count == 1
                ? VersionFilters.Replaceable(documents.First())
                : new Filter { Should = { documents.Select(d => new Condition { Filter = VersionFilters.Replaceable(d) }) } };
            try
            {
                await DeleteWhereAsync(collection, filter, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                // A delete in a collection that does not exist has nothing to do.
            }
        }, cancellationToken);

    /// <summary>The one place points are deleted, with <c>wait=true</c>: every caller has built its filter by the rule.</summary>
    private Task DeleteWhereAsync(string collection, Filter filter, CancellationToken cancellationToken) =>
        client.DeleteAsync(collection, filter, wait: true, cancellationToken: cancellationToken);
}
