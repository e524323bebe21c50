using System.Text;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>What a recall check found: how many sampled chunks found themselves, and which did not.</summary>
internal sealed record RecallResult(int Sampled, int Found, IReadOnlyList<string> Missed)
{
    /// <summary>1 for an empty sample: nothing is there to be lost.</summary>
    public double Rate => Sampled == 0 ? 1 : (double)Found / Sampled;
}

/// <summary>
/// Checks that a collection answers searches before it is switched to: chunks chosen at random are embedded again from
/// their stored text (as documents, like the copy did) and searched for; each must be among its
/// <see cref="Neighbours"/> nearest (or a chunk with the same text must, since identical texts have one vector). It
/// fails when the stored vectors do not fit their texts (another model, another size, a broken copy) and when the
/// index or its quantization loses too much. Costs one embedding of each sampled chunk.
/// </summary>
internal sealed class RecallCheck(QdrantClient client, IEmbeddingClient embeddings)
{
    internal const int Neighbours = 10;

    // Embedding requests of the check stay small, whatever the endpoint's limits.
    private const int InputsPerRequest = 16;
    private const int BytesPerRequest = 16 * 1024;

    /// <remarks>A multimodal collection's points are embedded one by one from their text and kept images (<c>Qdrant:StoreImages</c>).</remarks>
    public async Task<RecallResult> RunAsync(string collection, CollectionShape shape, int sampleSize, CancellationToken cancellationToken, bool multimodal = false)
    {
        var fields = multimodal ? new WithPayloadSelector { Include = new PayloadIncludeSelector { Fields = { QdrantSearch.ChunkFields.Include.Fields, PayloadFields.Images } } } : QdrantSearch.ChunkFields;
        var sample = await client.QueryAsync(collection, query: new Query { Sample = Sample.Random }, limit: (ulong)sampleSize, payloadSelector: fields, cancellationToken: cancellationToken).ConfigureAwait(false);
        var found = 0;
        var missed = new List<string>();
        foreach (var batch in multimodal ? sample.Select(p => new List<ScoredPoint> { p }) : Batches(sample))
        {
            var vectors = multimodal
                ? (await embeddings.EmbedMultimodalAsync(TextOf(batch[0]), ImagesOf(batch[0]), cancellationToken).ConfigureAwait(false)).Vectors
                : (await embeddings.EmbedAsync(batch.ConvertAll(TextOf), cancellationToken).ConfigureAwait(false)).Vectors;
            for (var i = 0; i < batch.Count; i++)
            {
                var nearest = await client.QueryAsync(collection, query: vectors[i], usingVector: shape.DenseUsing, limit: Neighbours, payloadSelector: QdrantSearch.ChunkFields, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (nearest.Any(hit => hit.Id.Equals(batch[i].Id) || TextOf(hit) == TextOf(batch[i])))
                {
                    found++;
                }
                else
                {
                    missed.Add($"{batch[i].Payload[PayloadFields.DocumentId].StringValue}#{batch[i].Payload[PayloadFields.ChunkIndex].IntegerValue}");
                }
            }
        }
        return new RecallResult(sample.Count, found, missed);
    }

    private static List<string> ImagesOf(ScoredPoint point) => PayloadValues.Strings(point.Payload, PayloadFields.Images) ?? [];

    private static string TextOf(ScoredPoint point) => point.Payload.TryGetValue(PayloadFields.Text, out var text) ? text.StringValue : "";

    private static IEnumerable<List<ScoredPoint>> Batches(IEnumerable<ScoredPoint> points)
    {
        var batch = new List<ScoredPoint>();
        var bytes = 0;
        foreach (var point in points.Where(p => TextOf(p).Length > 0))
        {
            var size = Encoding.UTF8.GetByteCount(TextOf(point));
            if (batch.Count > 0 && (batch.Count == InputsPerRequest || bytes + size > BytesPerRequest))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }
            batch.Add(point);
            bytes += size;
        }
        if (batch.Count > 0)
        {
            yield return batch;
        }
    }
}
