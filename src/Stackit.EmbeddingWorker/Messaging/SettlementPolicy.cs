using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// How every queue message is settled, live jobs and backfill pages alike. Three bounds, each with its own reason:
/// <list type="bullet">
/// <item>a job that fails on its own is poisoned at its <c>Queue:MaxDequeueCount</c>-th failed attempt; failures
/// while a dependency is down are the outage's and do not count;</item>
/// <item>a message whose earlier deliveries ended <c>Queue:MaxUnsettledDeliveries</c> times without being handed
/// back — its receivers crashed or were killed — is poisoned on receipt; shutdowns hand messages back, so they do
/// not count;</item>
/// <item>a message older than <c>Queue:MaxJobAge</c> that fails, or arrives, is poisoned, outage or not.</item>
/// </list>
/// Stored work is deleted, rejected work poisoned, failed work handed back after a backoff. The counts travel in the
/// message (<see cref="DeliveryRecord"/>); the queue calls themselves are <see cref="MessageSettler"/>'s.
/// </summary>
internal sealed partial class SettlementPolicy(MessageSettler settler, QueueOptions options, WorkerMetrics metrics, TimeProvider time, ILogger<SettlementPolicy> logger)
{
    /// <summary>Why the message must be poisoned as soon as it is received, or null to work on it.</summary>
    public string? RefuseOnReceipt(QueueLease lease) =>
        ReceiversCrashed(lease)
            ? $"delivered {lease.DequeueCount} times, {lease.UnsettledDeliveries} of them never settled (Queue:MaxUnsettledDeliveries is {options.MaxUnsettledDeliveries}); its receivers likely crashed on it."
            : TooOld(lease);

    /// <summary>
    /// Settles a message whose work ended as <paramref name="kind"/>. <see cref="OutcomeKind.Unavailable"/>: a
    /// dependency was down when the job failed, so the failure is the outage's, not the message's. <paramref name="stopping"/>:
    /// the replica is shutting down, so failed work is handed back at once for another replica instead of after a
    /// backoff (the attempt still counts when the job failed on its own).
    /// </summary>
    public Task CompleteAsync(QueueLease lease, string? documentId, OutcomeKind kind, string? reason, bool stopping, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case OutcomeKind.Stored:
                LogStored(documentId, lease.MessageId);
                metrics.JobStored();
                if (lease.InsertedOn is { } inserted)
                {
                    metrics.Searchable(time.GetUtcNow() - inserted, lease.QueueName);
                }
                return settler.DeleteAsync(lease, cancellationToken);
            case OutcomeKind.Rejected:
                return settler.PoisonAsync(lease, documentId, reason ?? "rejected", RejectionKind(lease), cancellationToken);
            default:
                if (TooOld(lease) is { } old)
                {
                    return settler.PoisonAsync(lease, documentId, $"{old} Last error: {reason}", PoisonReasons.TooOld, cancellationToken);
                }
                if (kind == OutcomeKind.Unavailable)
                {
                    // A dependency is down, not this job: its attempts do not run out while the outage lasts.
                    var wait = stopping ? TimeSpan.Zero : settler.RetryDelay(lease.Record.HandBacks + 1);
                    LogOutage(documentId, lease.MessageId, wait, reason);
                    metrics.JobRetried();
                    return settler.ReleaseAsync(lease, wait, cancellationToken);
                }
                var attempts = lease.Record.Attempts + 1;
                if (attempts >= options.MaxDequeueCount)
                {
                    var error = $"gave up after {attempts} attempts; last error: {reason}";
                    return settler.PoisonAsync(lease, documentId, error, PoisonReasons.Attempts, cancellationToken);
                }
                var delay = stopping ? TimeSpan.Zero : settler.RetryDelay(attempts);
                LogRetryLater(documentId, lease.MessageId, attempts, delay, reason);
                metrics.JobRetried();
                return settler.ReleaseAsync(lease, delay, cancellationToken, failedOnItsOwn: true);
        }
    }

    /// <summary>The metric's reason for a rejection: the receipt checks' (crashed receivers, too old) when they hold, else the job's own.</summary>
    private string RejectionKind(QueueLease lease) =>
        ReceiversCrashed(lease) ? PoisonReasons.Unsettled
        : TooOld(lease) is not null ? PoisonReasons.TooOld
        : PoisonReasons.Rejected;

    /// <summary>Delivered <c>Queue:MaxUnsettledDeliveries</c> times without being settled: its receivers likely crashed on it.</summary>
    private bool ReceiversCrashed(QueueLease lease) => lease.UnsettledDeliveries >= options.MaxUnsettledDeliveries;

    private string? TooOld(QueueLease lease) =>
        lease.InsertedOn is { } inserted && time.GetUtcNow() - inserted > options.MaxJobAge
            ? $"enqueued at {inserted:u}, longer ago than Queue:MaxJobAge ({options.MaxJobAge})."
            : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Document {DocumentId} stored; deleting message {MessageId}")]
    private partial void LogStored(string? documentId, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} (message {MessageId}, attempt {Attempt}) failed and is retried in {Delay}: {Reason}")]
    private partial void LogRetryLater(string? documentId, string messageId, int attempt, TimeSpan delay, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Document {DocumentId} (message {MessageId}) waits {Delay} for a dependency to recover: {Reason}")]
    private partial void LogOutage(string? documentId, string messageId, TimeSpan delay, string? reason);
}
