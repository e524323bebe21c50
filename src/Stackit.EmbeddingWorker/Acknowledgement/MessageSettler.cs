using Azure;
using Microsoft.Extensions.Logging;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Acknowledgement;

/// <summary>Deletes, poisons or releases a queue message. A lost lease is logged, never thrown.</summary>
internal sealed partial class MessageSettler(WorkQueues queues, QueueOptions options, TimeProvider time, ILogger<MessageSettler> logger)
{
    public async Task DeleteAsync(QueueLease lease, CancellationToken cancellationToken)
    {
        try
        {
            await queues.Get(lease.QueueName).DeleteMessageAsync(lease.MessageId, lease.PopReceipt, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (IsLeaseLost(ex))
        {
            LogLeaseLost(lease.MessageId, "delete", ex.ErrorCode);
        }
    }

    /// <summary>Copies the message with its error to the poison queue, then deletes the original.</summary>
    public async Task PoisonAsync(QueueLease lease, string? documentId, string error, CancellationToken cancellationToken)
    {
        var envelope = PoisonEnvelope.Create(lease, documentId, error, time.GetUtcNow(), out var wrapped);
        if (!wrapped)
        {
            LogPoisonUnwrapped(lease.MessageId, error);
        }
        await queues.PoisonOf(lease.QueueName).SendMessageAsync(envelope, cancellationToken).ConfigureAwait(false);
        LogPoisoned(lease.MessageId, documentId, lease.DequeueCount, error);
        await DeleteAsync(lease, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes the message visible again after a backoff that grows with each attempt.</summary>
    public async Task ReleaseAsync(QueueLease lease, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            var receipt = await queues.Get(lease.QueueName)
                .UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: delay, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            lease.Renewed(receipt.Value.PopReceipt);
        }
        catch (RequestFailedException ex) when (IsLeaseLost(ex))
        {
            LogLeaseLost(lease.MessageId, "release", ex.ErrorCode);
        }
    }

    public TimeSpan RetryDelay(long dequeueCount)
    {
        var exponent = Math.Clamp(dequeueCount - 1, 0, 16);
        var delay = TimeSpan.FromSeconds(5 * Math.Pow(2, exponent));
        return delay < options.VisibilityTimeout ? delay : options.VisibilityTimeout;
    }

    /// <summary>Azure answers 404 for a stale pop receipt; Azurite answers 400 PopReceiptMismatch.</summary>
    internal static bool IsLeaseLost(RequestFailedException ex) =>
        ex.Status == 404 || ex.ErrorCode is "PopReceiptMismatch" or "MessageNotFound";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of message {MessageId} was lost before {Action} ({ErrorCode}); another receiver owns it now")]
    private partial void LogLeaseLost(string messageId, string action, string? errorCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poisoned message {MessageId} (document {DocumentId}) after {DequeueCount} deliveries: {Error}")]
    private partial void LogPoisoned(string messageId, string? documentId, long dequeueCount, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} is too large to wrap; copied to the poison queue unchanged. Reason: {Error}")]
    private partial void LogPoisonUnwrapped(string messageId, string error);
}
