using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>One accepted job on its way through the pipeline, with the lease it must settle.</summary>
internal sealed class DocumentJob(QueueLease lease, JobMessage message, int generation = 0, CopySource? copy = null, JobGroup? group = null)
{
    public QueueLease Lease { get; } = lease;
    public JobMessage Message { get; } = message;
    public JobProgress Progress { get; } = new();

    /// <summary>Set for a backfill copy: where it writes and what it copies.</summary>
    public CopySource? Copy { get; } = copy;

    /// <summary>Set when several jobs share one message (a backfill page): the message is settled for all of them.</summary>
    public JobGroup? Group { get; } = group;

    /// <summary>The collection the job's points are written to: a copy's target, else the one the job names.</summary>
    public string WriteCollection => Copy?.TargetCollection ?? Message.Collection;

    /// <summary>How many times the job was chunked anew because the endpoint found a chunk too long.</summary>
    public int Generation { get; } = generation;

    /// <summary>The same message, to be chunked again from scratch with fresh progress.</summary>
    public DocumentJob NextGeneration() => new(Lease, Message, Generation + 1, Copy, Group);

    public override string ToString() => $"{Message.Collection}/{Message.Id} (message {Lease.MessageId})";
}
