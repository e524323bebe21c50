using System.Threading.Channels;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Acknowledgement;

/// <summary>How every stage tells Acknowledgement that a job is done or failed. A job is reported once.</summary>
internal sealed class OutcomeReporter(ChannelWriter<JobOutcome> outcomes)
{
    public ValueTask StoredAsync(DocumentJob job, CancellationToken cancellationToken) =>
        Report(job, OutcomeKind.Stored, null, cancellationToken);

    public ValueTask RejectedAsync(DocumentJob job, string reason, CancellationToken cancellationToken) =>
        Report(job, OutcomeKind.Rejected, reason, cancellationToken);

    public ValueTask FailedAsync(DocumentJob job, string reason, CancellationToken cancellationToken) =>
        Report(job, OutcomeKind.Failed, reason, cancellationToken);

    /// <summary>For a message that never became a job (it could not be parsed).</summary>
    public ValueTask RejectedAsync(QueueLease lease, string reason, CancellationToken cancellationToken) =>
        outcomes.WriteAsync(new JobOutcome(lease, null, OutcomeKind.Rejected, reason), cancellationToken);

    private ValueTask Report(DocumentJob job, OutcomeKind kind, string? reason, CancellationToken cancellationToken) =>
        job.Progress.TrySettle()
            ? outcomes.WriteAsync(new JobOutcome(job.Lease, job.Message.Id, kind, reason), cancellationToken)
            : ValueTask.CompletedTask;
}
