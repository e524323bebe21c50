using System.Runtime.CompilerServices;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Builds the Qdrant point of an embedded chunk: deterministic id, vector, and the payload contract. A job's metadata
/// is converted once and shared by all its points.
/// </summary>
internal sealed class PointFactory(QdrantOptions options, TimeProvider time)
{
    private readonly ConditionalWeakTable<JobMessage, Value> _metadata = new();

    public PointStruct Create(EmbeddedChunk embedded)
    {
        var chunk = embedded.Chunk;
        var message = chunk.Job.Message;
        var point = new PointStruct
        {
            Id = new PointId { Uuid = PointIds.For(message.Collection, message.Id, chunk.Index).ToString() },
            Vectors = VectorWrapping.Wrap(embedded.Vector),
        };
        var payload = point.Payload;
        payload[PayloadFields.DocumentId] = message.Id;
        payload[PayloadFields.ChunkIndex] = chunk.Index;
        payload[PayloadFields.ChunkCount] = chunk.Count;
        if (options.StoreText)
        {
            payload[PayloadFields.Text] = chunk.Text;
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
        // A backfill copy keeps the source's write time: copies are ordered by it (see VersionFilters).
        payload[PayloadFields.EmbeddedAt] = (chunk.Job.Copy?.WrittenAt ?? chunk.Job.ReceivedAt ?? time.GetUtcNow()).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return point;
    }
}
