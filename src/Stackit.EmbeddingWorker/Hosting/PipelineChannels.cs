using System.Threading.Channels;
using Stackit.EmbeddingWorker.Acknowledgement;
using Stackit.EmbeddingWorker.Batching;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Hosting;

/// <summary>
/// The bounded channels between the stages. When a later stage slows down they fill up and the stages
/// before it wait, until Intake stops receiving and the backlog stays in the queue.
/// </summary>
internal sealed class PipelineChannels(QueueOptions queue, BatchingOptions batching, EmbeddingsOptions embeddings, QdrantOptions qdrant)
{
    public Channel<DocumentJob> Jobs { get; } = Bounded<DocumentJob>(64);

    public Channel<DocumentJob> Deletions { get; } = Bounded<DocumentJob>(64);

    public Channel<DocumentChunk> Chunks { get; } = Bounded<DocumentChunk>(Math.Max(256, batching.MaxInputsPerRequest * 2));

    public Channel<EmbeddingBatch> Batches { get; } = Bounded<EmbeddingBatch>(embeddings.MaxConcurrency);

    public Channel<EmbeddedChunk> Embedded { get; } = Bounded<EmbeddedChunk>(qdrant.UpsertBatchSize * qdrant.MaxConcurrentUpserts);

    /// <summary>One outcome per in-flight message at most, so writers never wait on it.</summary>
    public Channel<JobOutcome> Outcomes { get; } = Bounded<JobOutcome>(queue.MaxInFlightMessages);

    private static Channel<T> Bounded<T>(int capacity) =>
        Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
}
