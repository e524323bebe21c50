using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// How every queue message is settled, live jobs and backfill pages alike (the WebJobs <c>QueueProcessor</c>'s
/// policy): on receipt, a message delivered more often than <c>Queue:MaxDequeueCount</c> is poisoned (its earlier
/// receivers crashed on it); on completion, stored work is deleted, rejected work poisoned, and failed work made
/// visible again after a backoff, or poisoned once its attempts are used up. While a dependency is down, failed
/// work is put back without using up its attempts. The queue calls themselves are <see cref="MessageSettler"/>'s.
/// </summary>
internal sealed partial class SettlementPolicy(MessageSettler settler, QueueOptions options, WorkerMetrics metrics, ILogger<SettlementPolicy> logger)
{
    /// <summary>Why the message must be poisoned as soon as it is received, or null to work on it.</summary>
    public string? RefuseOnReceipt(QueueLease lease) =>
        lease.DequeueCount > options.MaxDequeueCount
            ? $"delivered {lease.DequeueCount} times without being settled (Queue:MaxDequeueCount is {options.MaxDequeueCount}); earlier receivers likely crashed on it."
            : null;

    /// <summary>
    /// Settles a message whose work ended as <paramref name="kind"/>. <paramref name="dependencyDown"/> says that a
    /// dependency's circuit is not closed: a failure then is the outage's, not the message's.
    /// </summary>
    public Task CompleteAsync(QueueLease lease, string? documentId, OutcomeKind kind, string? reason, bool dependencyDown, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case OutcomeKind.Stored:
                LogStored(documentId, lease.MessageId);
                metrics.JobStored();
                return settler.DeleteAsync(lease, cancellationToken);
            case OutcomeKind.Rejected:
                return settler.PoisonAsync(lease, documentId, reason ?? "rejected", cancellationToken);
            default:
                if (dependencyDown)
                {
                    // A dependency is down, not this job: its attempts must not run out while the outage lasts.
                    var wait = settler.RetryDelay(lease.DequeueCount);
                    LogOutage(documentId, lease.MessageId, wait, reason);
                    metrics.JobRetried();
                    return lease.DequeueCount >= options.MaxDequeueCount - 1
                        ? settler.RequeueAsync(lease, wait, cancellationToken)
                        : settler.ReleaseAsync(lease, wait, cancellationToken);
                }
                if (lease.DequeueCount >= options.MaxDequeueCount)
                {
                    var error = $"gave up after {lease.DequeueCount} attempts; last error: {reason}";
                    return settler.PoisonAsync(lease, documentId, error, cancellationToken);
                }
                var delay = settler.RetryDelay(lease.DequeueCount);
                LogRetryLater(documentId, lease.MessageId, lease.DequeueCount, delay, reason);
                metrics.JobRetried();
                return settler.ReleaseAsync(lease, delay, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Document {DocumentId} stored; deleting message {MessageId}")]
    private partial void LogStored(string? documentId, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} (message {MessageId}, attempt {DequeueCount}) failed and is retried in {Delay}: {Reason}")]
    private partial void LogRetryLater(string? documentId, string messageId, long dequeueCount, TimeSpan delay, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} (message {MessageId}) waits {Delay} for a dependency to recover: {Reason}")]
    private partial void LogOutage(string? documentId, string messageId, TimeSpan delay, string? reason);
}
