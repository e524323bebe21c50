using Azure;
using Azure.Storage.Queues.Models;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// A replica's share of a backfill: while its live queue is empty and both dependencies answer, it takes up to
/// <c>Backfill:ConcurrentPages</c> pages from the backfill queue and copies them (<see cref="BackfillCopier"/>).
/// A copied page is deleted; a page that can never be copied goes to the backfill poison queue with the reason;
/// anything else leaves the page to be tried again after its lease, and poisons it after
/// <c>Queue:MaxDequeueCount</c> deliveries. At shutdown, pages in work are made visible again at once.
/// </summary>
internal sealed partial class BackfillService(
    WorkQueues queues,
    BackfillCopier copier,
    LiveActivity activity,
    DependencyCircuits circuits,
    BackfillOptions options,
    QueueOptions queue,
    TimeProvider time,
    ILogger<BackfillService> logger) : BackgroundService
{
    private static readonly TimeSpan BusyWait = TimeSpan.FromSeconds(1);

    private string QueueName => options.QueueName(queue.Name);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            return;
        }
        var backoff = new PollingBackoff(queue.MaxPollingInterval, new Random());
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!activity.IsIdle || circuits.AnyOpen)
                {
                    await Task.Delay(BusyWait, time, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                var pages = await ReceiveAsync(stoppingToken).ConfigureAwait(false);
                if (pages.Length == 0)
                {
                    await Task.Delay(backoff.Next(), time, stoppingToken).ConfigureAwait(false);
                    continue;
                }
                backoff.Reset();
                await Task.WhenAll(pages.Select(page => WorkOnAsync(page, stoppingToken))).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: pages in work were handed back by WorkOnAsync.
        }
    }

    private async Task<QueueMessage[]> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await queues.Get(QueueName).ReceiveMessagesAsync(options.ConcurrentPages, options.VisibilityTimeout, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // No backfill queue (none ever ran), or storage unavailable: tried again after the backoff.
            if (ex is not RequestFailedException { Status: 404 })
            {
                LogReceiveFailed(QueueName, (ex as RequestFailedException)?.Status ?? 0, ex.Message);
            }
            return [];
        }
    }

    private async Task WorkOnAsync(QueueMessage message, CancellationToken stoppingToken)
    {
        var client = queues.Get(QueueName);
        try
        {
            if (message.DequeueCount > queue.MaxDequeueCount)
            {
                await PoisonAsync(message, $"delivered {message.DequeueCount} times without being copied (Queue:MaxDequeueCount is {queue.MaxDequeueCount}).", stoppingToken).ConfigureAwait(false);
                return;
            }
            var page = BackfillPage.Parse(message.Body, out var error) ?? throw new BackfillRejectedException(error!);
            var result = await copier.CopyAsync(page, stoppingToken).ConfigureAwait(false);
            await client.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken).ConfigureAwait(false);
            LogCopied(page.Alias, page.Target, result.Documents, result.Embedded, result.Reused, result.AlreadyCopied, result.Deleted);
        }
        catch (Exception ex) when (ex is BackfillRejectedException or VectorStoreRejectedException || ex is EmbeddingRequestException { IsInputProblem: true })
        {
            try
            {
                await PoisonAsync(message, ex.Message, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception poisonFailure) when (poisonFailure is not OperationCanceledException)
            {
                // The page comes back after its lease and is poisoned then.
                LogPageFailed(message.MessageId, message.DequeueCount, poisonFailure);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await HandBackAsync(message).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Qdrant or the endpoint failed: the page comes back after its lease and is tried again.
            LogPageFailed(message.MessageId, message.DequeueCount, ex);
        }
    }

    private async Task PoisonAsync(QueueMessage message, string reason, CancellationToken cancellationToken)
    {
        LogPoisoned(message.MessageId, reason);
        var lease = new QueueLease(QueueName, message.MessageId, message.PopReceipt, message.DequeueCount, message.Body.ToMemory());
        var envelope = PoisonEnvelope.Create(lease, null, reason, time.GetUtcNow(), out _);
        var poison = queues.PoisonOf(QueueName);
        await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await poison.SendMessageAsync(envelope, cancellationToken).ConfigureAwait(false);
        await queues.Get(QueueName).DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
    }

    private async Task HandBackAsync(QueueMessage message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await queues.Get(QueueName).UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException)
        {
            // The page comes back after its lease instead.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backfill page of {Alias} → {Target}: {Documents} documents, {Embedded} chunks embedded, {Reused} reused, {AlreadyCopied} already copied, {Deleted} documents deleted")]
    private partial void LogCopied(string alias, string target, int documents, int embedded, int reused, int alreadyCopied, int deleted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backfill page {MessageId} failed (delivery {DequeueCount}); it is tried again after its lease")]
    private partial void LogPageFailed(string messageId, long dequeueCount, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Backfill page {MessageId} moved to the backfill poison queue: {Reason}")]
    private partial void LogPoisoned(string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Receiving from backfill queue {Queue} failed ({Status}): {Reason}")]
    private partial void LogReceiveFailed(string queue, int status, string reason);
}
