using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>The queue clients a replica uses: work queues by name and their poison queues.</summary>
internal sealed class WorkQueues(QueueServiceClient service, QueueOptions options)
{
    private readonly ConcurrentDictionary<string, QueueClient> _clients = new(StringComparer.Ordinal);

    public QueueClient Live => Get(options.Name);

    public QueueClient Get(string queueName) => _clients.GetOrAdd(queueName, service.GetQueueClient);

    public QueueClient PoisonOf(string queueName) => Get(QueueOptions.PoisonQueueOf(queueName));

    /// <summary>The queue's approximate message count (leased messages included), or null when it does not exist.</summary>
    public async Task<long?> ApproximateLengthAsync(string queueName, CancellationToken cancellationToken)
    {
        try
        {
            return (await Get(queueName).GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// When the queue's oldest message was first enqueued (the first a peek sees), or null when the queue is empty or
    /// does not exist. A message that was handed back keeps its insertion time, so this is how long the oldest work has
    /// waited.
    /// </summary>
    public async Task<DateTimeOffset?> OldestInsertedAsync(string queueName, CancellationToken cancellationToken)
    {
        try
        {
            var peeked = (await Get(queueName).PeekMessagesAsync(1, cancellationToken).ConfigureAwait(false)).Value;
            return peeked.Length > 0 ? peeked[0].InsertedOn : null;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="queue"/>, creating the queue first when it does not exist
    /// (deleted by hand, or never made): a message that must not be lost is never dropped for a missing queue.
    /// </summary>
    public static async Task SendCreatingAsync(QueueClient queue, string message, CancellationToken cancellationToken)
    {
        try
        {
            await queue.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (QueueErrors.IsQueueMissing(ex))
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await queue.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (!options.CreateIfNotExists)
        {
            return;
        }
        await Live.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await PoisonOf(options.Name).CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
