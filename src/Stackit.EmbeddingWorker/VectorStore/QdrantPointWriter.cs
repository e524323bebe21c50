using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Writes points with <c>wait=true</c>, so a call that returns means the change is applied. Every write carries the
/// ordering rule's guard (<see cref="VersionFilters.UpdateFilter"/>): points of a newer write stay. What a write deletes
/// afterwards is <see cref="DocumentOrdering"/>'s. Transient gRPC failures are retried; rejections surface as
/// <see cref="VectorStoreRejectedException"/>.
/// </summary>
internal sealed class QdrantPointWriter(QdrantClient client, CollectionProvisioner collections, PointFactory points, QdrantCalls calls)
{
    public Task UpsertAsync(string collection, IReadOnlyList<EmbeddedChunk> chunks, CancellationToken cancellationToken) =>
        calls.RunAsync(async token =>
        {
            var shape = await collections.EnsureAsync(collection, chunks[0].Vector.Length, token, chunks[0].Chunk.Model).ConfigureAwait(false);
            try
            {
                await client.UpsertAsync(Request(collection, chunks, shape), token).ConfigureAwait(false);
            }
            catch (Grpc.Core.RpcException ex) when (QdrantErrors.IsRejection(ex))
            {
                // The alias may name a collection of another shape now (a backfill switched it to one with BM25): write
                // as that one wants; else the refusal stands.
                var current = await collections.RefreshAsync(collection, shape, chunks[0].Vector.Length, token, chunks[0].Chunk.Model).ConfigureAwait(false);
                if (current is null)
                {
                    throw;
                }
                await client.UpsertAsync(Request(collection, chunks, current), token).ConfigureAwait(false);
            }
            catch (Grpc.Core.RpcException ex) when (QdrantErrors.IsMissingCollection(ex))
            {
                // Deleted under the worker (or its alias removed): the job goes back to the queue, and its next attempt
                // provisions the collection again instead of writing to the one known.
                collections.Forget(collection);
                throw;
            }
        }, cancellationToken);

    private UpsertPoints Request(string collection, IReadOnlyList<EmbeddedChunk> chunks, CollectionShape shape)
    {
        var request = new UpsertPoints { CollectionName = collection, Wait = true, Points = { chunks.Select(c => points.Create(c, shape)) } };
        if (VersionFilters.UpdateFilter(chunks.Select(c => c.Chunk.Job.Write)) is { } guard)
        {
            request.UpdateFilter = guard;
        }
        return request;
    }
}
