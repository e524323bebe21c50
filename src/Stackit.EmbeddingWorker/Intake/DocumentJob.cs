using Stackit.EmbeddingWorker.Acknowledgement;

namespace Stackit.EmbeddingWorker.Intake;

/// <summary>One accepted job on its way through the pipeline, with the lease it must settle.</summary>
internal sealed class DocumentJob(QueueLease lease, JobMessage message)
{
    public QueueLease Lease { get; } = lease;
    public JobMessage Message { get; } = message;
    public JobProgress Progress { get; } = new();

    public override string ToString() => $"{Message.Collection}/{Message.Id} (message {Lease.MessageId})";
}
