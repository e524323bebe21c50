namespace Stackit.EmbeddingWorker.Messaging;

internal enum LeaseState
{
    /// <summary>This replica holds the message; it is invisible to others.</summary>
    Held,

    /// <summary>Deleted, poisoned or released back to the queue by this replica.</summary>
    Settled,

    /// <summary>The queue no longer knows this pop receipt: another receiver owns the message now.</summary>
    Lost,
}

/// <summary>
/// A received queue message and the right to settle it. Every call that uses the pop receipt (renewal,
/// delete, release) takes the lease's turn first, so a renewal never invalidates the receipt a delete is
/// about to use, and the newest receipt is always the one used.
/// </summary>
internal sealed class QueueLease(string queueName, string messageId, string popReceipt, long dequeueCount, ReadOnlyMemory<byte> body,
    DeliveryRecord record = default, DateTimeOffset? insertedOn = null)
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private volatile string _popReceipt = popReceipt;
    private volatile LeaseState _state = LeaseState.Held;
    private long _renewedAt;

    public string QueueName { get; } = queueName;
    public string MessageId { get; } = messageId;
    public long DequeueCount { get; } = dequeueCount;

    /// <summary>The producer's body (without the worker's <see cref="DeliveryRecord"/>).</summary>
    public ReadOnlyMemory<byte> Body { get; } = body;

    /// <summary>What earlier deliveries of this message left: the job's own failures and the worker's hand-backs.</summary>
    public DeliveryRecord Record { get; } = record;

    /// <summary>When the producer put the message on the queue (the queue keeps it through hand-backs).</summary>
    public DateTimeOffset? InsertedOn { get; } = insertedOn;

    /// <summary>What the message's work holds (slots, claimed bytes), given back once at settlement or hand-back.</summary>
    public LeaseTicket Ticket { get; } = new();

    /// <summary>Earlier deliveries that ended without the worker handing the message back: crashes and kills.</summary>
    public long UnsettledDeliveries => Math.Max(0, DequeueCount - 1 - Record.HandBacks);

    /// <summary>The lease of a received message, with the worker's record read out of its body.</summary>
    public static QueueLease Of(string queueName, Azure.Storage.Queues.Models.QueueMessage message)
    {
        var (record, body) = DeliveryRecord.Read(message.Body.ToMemory());
        return new QueueLease(queueName, message.MessageId, message.PopReceipt, message.DequeueCount, body, record, message.InsertedOn);
    }

    public string PopReceipt => _popReceipt;

    public LeaseState State => _state;

    /// <summary>When the visibility was last set (a <see cref="TimeProvider"/> timestamp).</summary>
    public long RenewedAt => Interlocked.Read(ref _renewedAt);

    /// <summary>Waits for exclusive use of the pop receipt; dispose the result to give it back.</summary>
    public async Task<Turn> TakeTurnAsync(CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Turn(_turn);
    }

    /// <summary>Takes the turn only if nobody else has it (renewal never waits behind a settle).</summary>
    public bool TryTakeTurn(out Turn turn)
    {
        turn = _turn.Wait(0) ? new Turn(_turn) : default;
        return turn.Taken;
    }

    public void Renewed(string newPopReceipt, long at)
    {
        _popReceipt = newPopReceipt;
        Interlocked.Exchange(ref _renewedAt, at);
    }

    public void Settled() => _state = LeaseState.Settled;

    public void Lost() => _state = LeaseState.Lost;

    public readonly struct Turn(SemaphoreSlim turn) : IDisposable
    {
        public bool Taken => turn is not null;

        public void Dispose() => turn?.Release();
    }
}
