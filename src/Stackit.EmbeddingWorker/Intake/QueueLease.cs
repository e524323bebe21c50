namespace Stackit.EmbeddingWorker.Intake;

/// <summary>
/// A received queue message and the right to settle it. The pop receipt changes whenever the visibility is
/// updated, so it is kept here, in one place, and always read fresh.
/// </summary>
internal sealed class QueueLease(string queueName, string messageId, string popReceipt, long dequeueCount, ReadOnlyMemory<byte> body)
{
    private readonly Lock _gate = new();
    private string _popReceipt = popReceipt;

    public string QueueName { get; } = queueName;
    public string MessageId { get; } = messageId;
    public long DequeueCount { get; } = dequeueCount;
    public ReadOnlyMemory<byte> Body { get; } = body;

    public string PopReceipt
    {
        get { lock (_gate) { return _popReceipt; } }
    }

    public void Renewed(string newPopReceipt)
    {
        lock (_gate) { _popReceipt = newPopReceipt; }
    }
}
