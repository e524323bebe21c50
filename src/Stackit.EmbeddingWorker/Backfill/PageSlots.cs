namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// How many backfill pages a replica works on at once (<c>Backfill:ConcurrentPages</c>). A page takes a whole slot
/// until it is read; one that embeds nothing — its vectors are copied from the source, or it only deletes — then
/// gives back what it does not need (<see cref="Claim.Shrink"/>): it keeps a quarter of the slot for each
/// <c>Backfill:PageSize</c> documents it holds, since what it puts in the pipeline never waits for the endpoint ahead
/// of live work, while the documents (and vectors) a replica holds stay bounded by <c>ConcurrentPages × 4 × PageSize</c>.
/// A slot is given back whole when its page's message is settled.
/// </summary>
internal sealed class PageSlots(int concurrentPages) : IDisposable
{
    /// <summary>Parts of a slot: a page that embeds nothing holds one of them.</summary>
    internal const int Parts = 4;

    private readonly SemaphoreSlim _parts = new(concurrentPages * Parts, concurrentPages * Parts);

    /// <summary>Whole slots free now, not counting the one just taken.</summary>
    public int Free => _parts.CurrentCount / Parts;

    /// <summary>Waits for a whole slot.</summary>
    public async Task<Claim> TakeAsync(CancellationToken cancellationToken)
    {
        var taken = 0;
        try
        {
            for (; taken < Parts; taken++)
            {
                await _parts.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            if (taken > 0)
            {
                _parts.Release(taken);
            }
            throw;
        }
        return new Claim(_parts);
    }

    public void Dispose() => _parts.Dispose();

    /// <summary>One page's claim on a slot: disposed when its message is settled (its lease ticket holds it).</summary>
    internal sealed class Claim(SemaphoreSlim parts) : IDisposable
    {
        private readonly Lock _gate = new();
        private int _held = Parts;

        /// <summary>
        /// The page embeds nothing: it keeps one part of its slot for each <paramref name="pageSize"/> of its
        /// <paramref name="documents"/> (at least one, at most the whole slot).
        /// </summary>
        public void Shrink(int documents, int pageSize) => Keep(Math.Clamp((documents + pageSize - 1) / pageSize, 1, Parts));

        public void Dispose() => Keep(0);

        private void Keep(int kept)
        {
            int given;
            lock (_gate)
            {
                given = Math.Max(0, _held - kept);
                _held = Math.Min(_held, kept);
            }
            if (given > 0)
            {
                parts.Release(given);
            }
        }
    }
}
