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

    /// <summary>
    /// When the job entered this replica's pipeline, in the order the replica received the jobs of its document
    /// (<see cref="DocumentSequencer"/>); stored as the points' <c>embedded_at</c>.
    /// </summary>
    public DateTimeOffset? ReceivedAt { get; private set; }

    /// <summary>
    /// The job's time, stored as its points' <c>embedded_at</c>: when this replica took it in
    /// (<see cref="ReceivedAt"/>), or for a backfill copy when the source wrote what it copies.
    /// </summary>
    public DateTimeOffset? EmbeddedAt => Copy?.EmbeddedAt ?? ReceivedAt;

    /// <summary>
    /// The time that orders this job's writes against other writers of its document: its <see cref="EmbeddedAt"/> when
    /// it is a backfill copy or has no version; null for a live versioned job, which its version orders.
    /// </summary>
    public DateTimeOffset? OrderedAt => Copy is not null || Message.Version is null ? EmbeddedAt : null;

    /// <summary>The job's write as the ordering rule judges it: its document, version and ordering time.</summary>
    public OrderedWrite Write => new(Message.Id, Message.Version, OrderedAt);

    /// <summary>The same message, to be chunked again from scratch with fresh progress.</summary>
    public DocumentJob NextGeneration() => new(Lease, Message, Generation + 1, Copy, Group) { ReceivedAt = ReceivedAt };

    /// <summary>Stamps when the job entered the pipeline (once; by the sequencer).</summary>
    internal void Received(DateTimeOffset at) => ReceivedAt ??= at;

    public override string ToString() => $"{Message.Collection}/{Message.Id} (message {Lease.MessageId})";
}
