namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// What a received message's work holds while it runs — its in-flight slot, the bytes of its claimed body, a backfill
/// page's slot — in one object that is given back once, whatever path the work took: when the message is settled
/// (Acknowledgement) or handed back at shutdown (the lease keeper). Its lease renewal ends with it in the same places
/// (<see cref="LeaseRegistry.Forget"/>). Something held after the ticket was given back is given back at once.
/// </summary>
internal sealed class LeaseTicket : IDisposable
{
    private readonly Lock _gate = new();
    private List<IDisposable>? _held;
    private bool _disposed;

    /// <summary>Ties <paramref name="held"/> to the message: it is given back with the ticket.</summary>
    public void Hold(IDisposable held)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                (_held ??= []).Add(held);
                return;
            }
        }
        held.Dispose();
    }

    /// <summary>Gives back everything the message held; the first call does, later ones do nothing.</summary>
    public void Dispose()
    {
        List<IDisposable>? held;
        lock (_gate)
        {
            _disposed = true;
            held = _held;
            _held = null;
        }
        held?.ForEach(h => h.Dispose());
    }

    /// <summary>A hold given back by running <paramref name="release"/> once.</summary>
    public static IDisposable Of(Action release) => new Release(release);

    private sealed class Release(Action release) : IDisposable
    {
        private Action? _release = release;

        public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
