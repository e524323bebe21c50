using Polly;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Embeddings;
using static Qdrant.Client.Grpc.Conditions;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Writes and deletes points with <c>wait=true</c>, so a call that returns means the change is applied.
/// Transient gRPC failures are retried by <paramref name="retry"/>; rejections surface as
/// <see cref="VectorStoreRejectedException"/>.
/// </summary>
internal sealed class QdrantPointWriter(QdrantClient client, CollectionProvisioner collections, PointFactory points, ResiliencePipeline retry)
{
    public Task UpsertAsync(string collection, IReadOnlyList<EmbeddedChunk> chunks, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            await collections.EnsureAsync(collection, chunks[0].Vector.Length, token).ConfigureAwait(false);
            var batch = chunks.Select(points.Create).ToList();
            await client.UpsertAsync(collection, batch, wait: true, cancellationToken: token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Removes the tails documents left when they shrank: each document's chunks from its new chunk count on.
    /// One request for many documents, so finishing a batch of short documents costs one round trip, not one each.
    /// </summary>
    public Task DeleteStaleChunksAsync(string collection, IReadOnlyCollection<(string DocumentId, int ChunkCount)> documents, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            var filter = new Filter();
            foreach (var (documentId, chunkCount) in documents)
            {
                filter.Should.Add(new Condition
                {
                    Filter = MatchKeyword(PayloadFields.DocumentId, documentId) & Range(PayloadFields.ChunkIndex, new Qdrant.Client.Grpc.Range { Gte = chunkCount }),
                });
            }
            await client.DeleteAsync(collection, filter, wait: true, cancellationToken: token).ConfigureAwait(false);
        }, cancellationToken);

    public Task DeleteDocumentAsync(string collection, string documentId, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            if (await collections.ExistsAsync(collection, token).ConfigureAwait(false))
            {
                await client.DeleteAsync(collection, MatchKeyword(PayloadFields.DocumentId, documentId), wait: true, cancellationToken: token).ConfigureAwait(false);
            }
        }, cancellationToken);

    private async Task RunAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        try
        {
            await retry.ExecuteAsync(async token => await operation(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (QdrantErrors.IsRejection(ex))
        {
            throw new VectorStoreRejectedException($"Qdrant rejected the write: {((Grpc.Core.RpcException)ex).Status.Detail}", ex);
        }
    }
}
