using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Batching;

internal static class ChunkFactory
{
    /// <summary>The model of the chunks made here.</summary>
    public const string Model = "test/model";

    public static DocumentChunk Chunk(int tokens, string id = "doc", int index = 0, string? text = null, IReadOnlyList<string>? images = null)
    {
        var message = new JobMessage(id, JobOperation.Upsert, text ?? "t", null, null, "documents", images ?? [], null);
        var job = new DocumentJob(new QueueLease("q", "m-" + id, "pop", 1, ReadOnlyMemory<byte>.Empty), message);
        return new DocumentChunk(job, index, 1, text ?? $"chunk {index}", tokens, Model, "hash");
    }
}
