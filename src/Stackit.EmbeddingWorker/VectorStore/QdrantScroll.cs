using System.Runtime.CompilerServices;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>Reads every point a filter matches, page by page through Qdrant's scroll offsets, without vectors unless asked.</summary>
internal static class QdrantScroll
{
    public static async IAsyncEnumerable<RetrievedPoint> AllAsync(
        QdrantClient client, string collection, Filter filter, WithPayloadSelector payload, uint pageSize,
        [EnumeratorCancellation] CancellationToken cancellationToken, bool withVectors = false)
    {
        PointId? offset = null;
        do
        {
            var page = await client.ScrollAsync(collection, filter, pageSize, offset, payload, vectorsSelector: withVectors, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var point in page.Result)
            {
                yield return point;
            }
            offset = page.NextPageOffset;
        }
        while (offset is not null);
    }

    /// <summary>The points of these documents.</summary>
    public static Filter OfDocuments(IReadOnlyCollection<string> documentIds) =>
        new() { Must = { Conditions.Match(PayloadFields.DocumentId, documentIds.ToList()) } };
}
