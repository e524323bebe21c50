namespace Stackit.EmbeddingWorker.Testing.QueueStandIn;

/// <summary>A message as the stand-in holds it; the pop receipt changes on every receive and update.</summary>
internal sealed class StandInMessage(string id, long sequence, string text, DateTimeOffset inserted, DateTimeOffset expires)
{
    public string Id { get; } = id;
    public long Sequence { get; } = sequence;
    public string Text { get; set; } = text;
    public DateTimeOffset Inserted { get; } = inserted;
    public DateTimeOffset Expires { get; } = expires;
    public DateTimeOffset NextVisible { get; set; }
    public string PopReceipt { get; set; } = "";
    public long DequeueCount { get; set; }
}

internal sealed record QueueError(int Status, string Code, string Message)
{
    public static readonly QueueError MessageNotFound = new(404, "MessageNotFound", "The specified message does not exist.");
    public static readonly QueueError PopReceiptMismatch = new(400, "PopReceiptMismatch", "The specified pop receipt did not match the pop receipt for a dequeued message.");
    public static readonly QueueError QueueNotFound = new(404, "QueueNotFound", "The specified queue does not exist.");
    public static readonly QueueError BodyTooLarge = new(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.");

    public static QueueError OutOfRange(string parameter) =>
        new(400, "OutOfRangeQueryParameterValue", $"One of the query parameters specified in the request URI is outside the permissible range: {parameter}.");
}

/// <summary>
/// One queue's messages with Azure Queue Storage's semantics: receive hands out visible messages oldest
/// visible first and hides them for the visibility timeout; update and delete need the latest pop receipt.
/// Messages are indexed by the time they become visible, so a receive costs O(log n) however long the queue.
/// </summary>
internal sealed class StandInQueue(TimeProvider time)
{
    private static readonly Comparer<StandInMessage> ByVisibility = Comparer<StandInMessage>.Create((a, b) =>
        a.NextVisible != b.NextVisible ? a.NextVisible.CompareTo(b.NextVisible) : a.Sequence.CompareTo(b.Sequence));

    private readonly Lock _lock = new();
    private readonly Dictionary<string, StandInMessage> _byId = [];
    private readonly SortedSet<StandInMessage> _byVisibility = new(ByVisibility);
    private long _sequence;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byId.Count;
            }
        }
    }

    public StandInMessage Send(string text, TimeSpan visibilityTimeout, TimeSpan timeToLive)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var message = new StandInMessage(Guid.NewGuid().ToString(), ++_sequence, text, now, now + timeToLive)
            {
                NextVisible = now + visibilityTimeout,
                PopReceipt = NewPopReceipt(),
            };
            _byId.Add(message.Id, message);
            _byVisibility.Add(message);
            return message;
        }
    }

    public IReadOnlyList<StandInMessage> Receive(int count, TimeSpan visibilityTimeout)
    {
        var now = time.GetUtcNow();
        var received = new List<StandInMessage>(count);
        lock (_lock)
        {
            while (received.Count < count && _byVisibility.Min is { } first && first.NextVisible <= now)
            {
                _byVisibility.Remove(first);
                if (first.Expires <= now)
                {
                    _byId.Remove(first.Id);
                    continue;
                }
                first.NextVisible = now + visibilityTimeout;
                first.PopReceipt = NewPopReceipt();
                first.DequeueCount++;
                received.Add(first);
            }
            foreach (var message in received)
            {
                _byVisibility.Add(message);
            }
            // Copies: the caller writes them out after the lock is gone, while others may change the originals.
            return [.. received.Select(Snapshot)];
        }
    }

    public IReadOnlyList<StandInMessage> Peek(int count)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            return [.. _byVisibility.TakeWhile(m => m.NextVisible <= now).Where(m => m.Expires > now).Take(count).Select(Snapshot)];
        }
    }

    /// <returns>Null when the message was updated (a copy of it in <paramref name="updated"/>), else Azure's error.</returns>
    public QueueError? Update(string id, string popReceipt, TimeSpan visibilityTimeout, string? newText, out StandInMessage? updated)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            updated = null;
            if (Find(id, popReceipt, now) is { } error)
            {
                return error;
            }
            var message = _byId[id];
            _byVisibility.Remove(message);
            message.NextVisible = now + visibilityTimeout;
            message.PopReceipt = NewPopReceipt();
            message.Text = newText ?? message.Text;
            _byVisibility.Add(message);
            updated = Snapshot(message);
            return null;
        }
    }

    public QueueError? Delete(string id, string popReceipt)
    {
        lock (_lock)
        {
            if (Find(id, popReceipt, time.GetUtcNow()) is { } error)
            {
                return error;
            }
            _byVisibility.Remove(_byId[id]);
            _byId.Remove(id);
            return null;
        }
    }

    private QueueError? Find(string id, string popReceipt, DateTimeOffset now) =>
        !_byId.TryGetValue(id, out var message) || message.Expires <= now ? QueueError.MessageNotFound
        : message.PopReceipt != popReceipt ? QueueError.PopReceiptMismatch
        : null;

    private static StandInMessage Snapshot(StandInMessage m) => new(m.Id, m.Sequence, m.Text, m.Inserted, m.Expires)
    {
        NextVisible = m.NextVisible,
        PopReceipt = m.PopReceipt,
        DequeueCount = m.DequeueCount,
    };

    private static string NewPopReceipt() => Convert.ToBase64String(Guid.NewGuid().ToByteArray());
}
