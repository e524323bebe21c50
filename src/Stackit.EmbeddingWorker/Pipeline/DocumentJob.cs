using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>One accepted job on its way through the pipeline, with the lease it must settle.</summary>
internal sealed class DocumentJob(QueueLease lease, JobMessage message, int generation = 0)
{
    public QueueLease Lease { get; } = lease;
    public JobMessage Message { get; } = message;
    public JobProgress Progress { get; } = new();

    /// <summary>How many times the job was chunked anew because the endpoint found a chunk too long.</summary>
    public int Generation { get; } = generation;

    /// <summary>The same message, to be chunked again from scratch with fresh progress.</summary>
    public DocumentJob NextGeneration() => new(Lease, Message, Generation + 1);

    public override string ToString() => $"{Message.Collection}/{Message.Id} (message {Lease.MessageId})";
}
