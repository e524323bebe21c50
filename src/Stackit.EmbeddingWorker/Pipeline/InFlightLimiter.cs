using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Bounds the messages a replica holds, from receive to settlement. Intake asks for a whole receive
/// batch at once, so a new batch is fetched only when in-flight work has dropped by that much (the
/// WebJobs "new batch threshold"), and memory is bounded by configuration, never by the backlog.
/// </summary>
internal sealed class InFlightLimiter(int capacity) : IDisposable
{
    public const int MaxReceiveBatch = 32;

    private readonly SemaphoreSlim _slots = new(capacity, capacity);

    public int Capacity { get; } = capacity;

    public int InFlight => Capacity - _slots.CurrentCount;

    public int BatchSize => Math.Min(MaxReceiveBatch, Capacity);

    /// <summary>Waits until <see cref="BatchSize"/> slots are free and takes them.</summary>
    public async Task<int> AcquireBatchAsync(CancellationToken cancellationToken)
    {
        var taken = 0;
        try
        {
            for (; taken < BatchSize; taken++)
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            return taken;
        }
        catch (OperationCanceledException)
        {
            Release(taken);
            throw;
        }
    }

    /// <summary>One slot of a batch taken with <see cref="AcquireBatchAsync"/>, handed to a message's ticket.</summary>
    public IDisposable Slot() => LeaseTicket.Of(() => Release());

    public void Release(int count = 1)
    {
        if (count > 0)
        {
            _slots.Release(count);
        }
    }

    public void Dispose() => _slots.Dispose();
}
