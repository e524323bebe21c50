namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// One kind of work's use of an <see cref="EndpointRateBudget"/> since the last report (live or backfill): the tokens and
/// requests granted, the requests waiting and in flight, and whether any waited long enough to want more.
/// </summary>
internal sealed class BudgetUse
{
    private long _tokens;
    private long _requests;
    private int _waiting;
    private int _inFlight;
    private int _saturated;

    public void StartWaiting() => Interlocked.Increment(ref _waiting);

    public void StopWaiting(bool waitedLong)
    {
        Interlocked.Decrement(ref _waiting);
        if (waitedLong)
        {
            Volatile.Write(ref _saturated, 1);
        }
    }

    public void Granted(int tokens)
    {
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _inFlight);
    }

    public void Finished() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Reads and resets; work still waiting now counts as saturated.</summary>
    public (long Tokens, long Requests, bool Saturated, bool InFlight) Take() =>
        (Interlocked.Exchange(ref _tokens, 0), Interlocked.Exchange(ref _requests, 0),
         Interlocked.Exchange(ref _saturated, 0) == 1 || Volatile.Read(ref _waiting) > 0, Volatile.Read(ref _inFlight) > 0);
}
