using Qdrant.Client.Grpc;
using Qdrant.Client;
using Stackit.EmbeddingWorker.Pipeline;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Writes and deletes points with <c>wait=true</c>, so a call that returns means the change is applied.
/// Every write carries the version guard (<see cref="VersionFilters"/>): points of a newer version stay.
/// Transient gRPC failures are retried; rejections surface as <see cref="VectorStoreRejectedException"/>.
/// </summary>
internal sealed class QdrantPointWriter(QdrantClient client, CollectionProvisioner collections, PointFactory points, QdrantCalls calls)
{
    public Task UpsertAsync(string collection, IReadOnlyList<EmbeddedChunk> chunks, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            await collections.EnsureAsync(collection, chunks[0].Vector.Length, token).ConfigureAwait(false);
            var request = new UpsertPoints { CollectionName = collection, Wait = true, Points = { chunks.Select(points.Create) } };
            if (VersionFilters.UpdateFilter(chunks.Select(c => (c.Chunk.Job.Message.Id, c.Chunk.Job.Message.Version))) is { } guard)
            {
                request.UpdateFilter = guard;
            }
            await client.UpsertAsync(request, token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Removes the tails documents left when they shrank: each document's chunks from its new chunk count on.
    /// One request for many documents, so finishing a batch of short documents costs one round trip, not one each.
    /// </summary>
    public Task DeleteStaleChunksAsync(string collection, IReadOnlyCollection<(string DocumentId, int ChunkCount, long? Version)> documents, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var filter = new Filter();
            foreach (var (documentId, chunkCount, version) in documents)
            {
                var tail = VersionFilters.Replaceable(documentId, version);
                tail.Must.Add(Range(PayloadFields.ChunkIndex, new Qdrant.Client.Grpc.Range { Gte = chunkCount }));
                filter.Should.Add(new Condition { Filter = tail });
            }
            await client.DeleteAsync(collection, filter, wait: true, cancellationToken: token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Removes every point of a document, except those a newer version than <paramref name="version"/> wrote.</summary>
    public Task DeleteDocumentAsync(string collection, string documentId, long? version, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            try
            {
                await client.DeleteAsync(collection, VersionFilters.Replaceable(documentId, version), wait: true, cancellationToken: token).ConfigureAwait(false);
            }
            catch (Exception ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                // A delete in a collection that does not exist has nothing to do.
            }
        }, cancellationToken);
}
