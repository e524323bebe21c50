using Azure;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// Deletes, poisons or hands back a queue message, each under the lease's turn so no renewal
/// changes the pop receipt underneath. A lease already lost is skipped (another receiver owns the message);
/// one lost during the call is logged, never thrown.
/// </summary>
internal sealed partial class MessageSettler(WorkQueues queues, LeaseRegistry leases, QueueOptions options, WorkerMetrics metrics, TimeProvider time, ILogger<MessageSettler> logger)
{
    public Task DeleteAsync(QueueLease lease, CancellationToken cancellationToken) =>
        SettleAsync(lease, "delete", token => DeleteMessageAsync(lease, token), cancellationToken);

    /// <summary>Copies the message with its error to the poison queue, then deletes the original; <paramref name="reason"/> tags the metric (<see cref="PoisonReasons"/>).</summary>
    public Task PoisonAsync(QueueLease lease, string? documentId, string error, string reason, CancellationToken cancellationToken) =>
        SettleAsync(lease, "poison", async token =>
        {
            var envelope = PoisonEnvelope.Create(lease, documentId, error, time.GetUtcNow(), out var wrapped);
            if (!wrapped)
            {
                LogPoisonUnwrapped(lease.MessageId, error);
            }
            // A deleted (or never created) poison queue is made again, or the message would come back forever.
            await WorkQueues.SendCreatingAsync(queues.PoisonOf(lease.QueueName), envelope, token).ConfigureAwait(false);
            LogPoisoned(lease.MessageId, documentId, lease.DequeueCount, error);
            metrics.JobPoisoned(reason);
            await DeleteMessageAsync(lease, token).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Hands the message back, visible again after <paramref name="delay"/>, with its <see cref="DeliveryRecord"/>
    /// updated in its body: one hand-back more, and one attempt more when the job failed on its own
    /// (<paramref name="failedOnItsOwn"/>). A body too large to carry the record is handed back unchanged; its
    /// deliveries then count as unsettled ones.
    /// </summary>
    public Task ReleaseAsync(QueueLease lease, TimeSpan delay, CancellationToken cancellationToken, bool failedOnItsOwn = false) =>
        SettleAsync(lease, "release", async token =>
        {
            var record = new DeliveryRecord(lease.Record.Attempts + (failedOnItsOwn ? 1 : 0), lease.Record.HandBacks + 1);
            var queue = queues.Get(lease.QueueName);
            if (record.Write(lease.Body) is { } content)
            {
                await queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, content, delay, token).ConfigureAwait(false);
            }
            else
            {
                LogRecordDoesNotFit(lease.MessageId, lease.Body.Length);
                await queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: delay, cancellationToken: token).ConfigureAwait(false);
            }
        }, cancellationToken);

    public TimeSpan RetryDelay(long dequeueCount)
    {
        var exponent = Math.Clamp(dequeueCount - 1, 0, 16);
        var delay = TimeSpan.FromSeconds(5 * Math.Pow(2, exponent));
        return delay < options.VisibilityTimeout ? delay : options.VisibilityTimeout;
    }

    private Task DeleteMessageAsync(QueueLease lease, CancellationToken cancellationToken) =>
        queues.Get(lease.QueueName).DeleteMessageAsync(lease.MessageId, lease.PopReceipt, cancellationToken);

    private async Task SettleAsync(QueueLease lease, string action, Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        using var turn = await lease.TakeTurnAsync(cancellationToken).ConfigureAwait(false);
        if (lease.State != LeaseState.Held)
        {
            LogSkipped(lease.MessageId, action, lease.State);
            return;
        }
        try
        {
            await operation(cancellationToken).ConfigureAwait(false);
            lease.Settled();
        }
        catch (RequestFailedException ex) when (QueueErrors.IsLeaseLost(ex))
        {
            lease.Lost();
            metrics.LeaseLost(action);
            LogLeaseLost(lease.MessageId, action, ex.ErrorCode);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The queue failed us: stop renewing, so the message comes back when its visibility runs out.
            // (Cancelled at shutdown, it stays tracked and is released at once instead.)
            leases.Forget(lease);
            throw;
        }
        leases.Forget(lease);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of message {MessageId} was lost before {Action} ({ErrorCode}); another receiver owns it now")]
    private partial void LogLeaseLost(string messageId, string action, string? errorCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Skipped {Action} of message {MessageId}: its lease is {State}")]
    private partial void LogSkipped(string messageId, string action, LeaseState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poisoned message {MessageId} (document {DocumentId}) after {DequeueCount} deliveries: {Error}")]
    private partial void LogPoisoned(string messageId, string? documentId, long dequeueCount, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} ({Bytes} bytes) is too large to carry its delivery record; handed back unchanged, its deliveries count as unsettled")]
    private partial void LogRecordDoesNotFit(string messageId, int bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} is too large to wrap; copied to the poison queue unchanged. Reason: {Error}")]
    private partial void LogPoisonUnwrapped(string messageId, string error);
}
