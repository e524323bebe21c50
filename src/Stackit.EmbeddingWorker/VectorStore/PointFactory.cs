using System.Runtime.CompilerServices;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Builds the Qdrant point of an embedded chunk: deterministic id, vectors as its collection's shape wants them (the
/// dense one, and in a hybrid collection the chunk's text for Qdrant's BM25 beside it), and the payload contract. A job's metadata
/// is converted once and shared by all its points.
/// </summary>
internal sealed class PointFactory(QdrantOptions options, TimeProvider time)
{
    private readonly ConditionalWeakTable<JobMessage, Value> _metadata = new();

    public PointStruct Create(EmbeddedChunk embedded, CollectionShape shape)
    {
        var chunk = embedded.Chunk;
        var message = chunk.Job.Message;
        var point = new PointStruct
        {
            Id = new PointId { Uuid = PointIds.For(message.Collection, message.Id, chunk.Index).ToString() },
            Vectors = shape.Hybrid ? Named(embedded.Vector, chunk.Text, shape) : VectorWrapping.Wrap(embedded.Vector),
        };
        var payload = point.Payload;
        payload[PayloadFields.DocumentId] = message.Id;
        payload[PayloadFields.ChunkIndex] = chunk.Index;
        payload[PayloadFields.ChunkCount] = chunk.Count;
        if (options.StoreText)
        {
            payload[PayloadFields.Text] = chunk.Text;
        }
        if (options.StoreImages && message.Images.Count > 0)
        {
            var images = new ListValue();
            images.Values.AddRange(message.Images.Select(image => new Value { StringValue = image }));
            payload[PayloadFields.Images] = new Value { ListValue = images };
        }
        if (message.Title is not null)
        {
            payload[PayloadFields.Title] = message.Title;
        }
        if (message.Metadata is not null)
        {
            payload[PayloadFields.Metadata] = _metadata.GetValue(message, static m => PayloadValues.From(m.Metadata!.Value));
        }
        payload[PayloadFields.ContentHash] = chunk.ContentHash;
        payload[PayloadFields.Model] = embedded.Model;
        if (message.Version is { } version)
        {
            payload[PayloadFields.Version] = version;
        }
        // The job's own time (a backfill copy keeps the source's): unversioned writes and copies are ordered by it.
        payload[PayloadFields.EmbeddedAt] = (chunk.Job.EmbeddedAt ?? time.GetUtcNow()).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return point;
    }

    /// <summary>The dense vector and, for a chunk with text, the BM25 document (an image alone has no terms).</summary>
    private static Vectors Named(float[] vector, string text, CollectionShape shape)
    {
        var named = new NamedVectors { Vectors = { [CollectionShape.DenseName] = VectorWrapping.WrapDense(vector) } };
        if (!string.IsNullOrWhiteSpace(text))
        {
            named.Vectors[CollectionShape.Bm25Name] = new Vector { Document = shape.Bm25Document(text) };
        }
        return new Vectors { Vectors_ = named };
    }
}
