using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Bounds the bytes of claim-checked job bodies held in the pipeline at once (<c>Blobs:MaxInFlightBytes</c>), beside
/// the message count: a blob is read only once its size fits, and its bytes are given back when its message is
/// settled. Waiters are served in arrival order, so a large blob is not starved by small ones; a blob larger than the
/// whole budget waits until the budget is free and then takes all of it, so it runs alone.
/// </summary>
internal sealed class ByteBudget(long capacity)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<(long Bytes, TaskCompletionSource Granted)> _waiting = new();
    private long _available = capacity;

    public long Capacity { get; } = capacity;

    /// <summary>Bytes held now.</summary>
    public long Held
    {
        get { lock (_gate) { return Capacity - _available; } }
    }

    /// <summary>Takes <paramref name="bytes"/> (at most the whole budget) once they fit; returns what was taken, to release later.</summary>
    public async Task<long> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        var take = Math.Clamp(bytes, 0, Capacity);
        LinkedListNode<(long Bytes, TaskCompletionSource Granted)> waiting;
        lock (_gate)
        {
            if (_waiting.Count == 0 && _available >= take)
            {
                _available -= take;
                return take;
            }
            waiting = _waiting.AddLast((take, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }
        try
        {
            await waiting.Value.Granted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return take;
        }
        catch (OperationCanceledException)
        {
            bool granted;
            lock (_gate)
            {
                granted = waiting.List is null;
                if (!granted)
                {
                    _waiting.Remove(waiting);
                }
            }
            if (granted)
            {
                // Granted just as the wait was cancelled: give it back.
                Release(take);
            }
            else
            {
                // The waiters behind may fit now.
                Release(0);
            }
            throw;
        }
    }

    /// <summary><paramref name="bytes"/> taken with <see cref="AcquireAsync"/>, as a hold for a message's ticket.</summary>
    public IDisposable Hold(long bytes) => LeaseTicket.Of(() => Release(bytes));

    public void Release(long bytes)
    {
        lock (_gate)
        {
            _available = Math.Min(Capacity, _available + bytes);
            while (_waiting.First is { } first && first.Value.Bytes <= _available)
            {
                _available -= first.Value.Bytes;
                _waiting.RemoveFirst();
                first.Value.Granted.SetResult();
            }
        }
    }
}
