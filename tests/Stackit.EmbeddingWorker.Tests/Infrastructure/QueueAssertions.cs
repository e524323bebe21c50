using System.Text.Json;
using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

internal static class QueueAssertions
{
    /// <summary>Waits until the queue holds no message at all, visible or leased; fails after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilEmptyAsync(QueueClient queue, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var count = -1;
        while (DateTime.UtcNow < deadline)
        {
            count = (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
            if (count == 0)
            {
                return;
            }
            await Task.Delay(200, cancellationToken);
        }
        Assert.Fail($"queue {queue.Name} still held {count} messages after {timeout}");
    }

    /// <summary>Messages in the queue, visible or leased; 0 for a queue never created.</summary>
    public static async Task<int> CountAsync(QueueClient queue, CancellationToken cancellationToken) =>
        await queue.ExistsAsync(cancellationToken) ? (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount : 0;

    /// <summary>Receives and deletes every message, returning the bodies parsed as JSON.</summary>
    public static async Task<List<JsonElement>> DrainAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        var bodies = new List<JsonElement>();
        while (true)
        {
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), cancellationToken)).Value;
            if (messages.Length == 0)
            {
                return bodies;
            }
            foreach (var message in messages)
            {
                bodies.Add(JsonDocument.Parse(message.Body.ToString()).RootElement.Clone());
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            }
        }
    }
}
