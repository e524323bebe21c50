namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Counts a job's stored chunks and makes sure the job is settled exactly once, whichever stage finishes
/// or fails it first. Thread-safe: chunks of one job are stored by concurrent writers.
/// </summary>
internal sealed class JobProgress
{
    private int _expected = -1;
    private int _stored;
    private int _settled;
    private int _rejected;

    public int ExpectedChunks => Volatile.Read(ref _expected);

    public bool IsSettled => Volatile.Read(ref _settled) != 0;

    /// <summary>Set once, before any chunk of the job is sent on.</summary>
    public void Expect(int chunkCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        if (Interlocked.CompareExchange(ref _expected, chunkCount, -1) != -1)
        {
            throw new InvalidOperationException("The chunk count of a job is set once.");
        }
    }

    /// <summary>Records <paramref name="count"/> stored chunks; true when they included the last one.</summary>
    public bool ChunksStored(int count)
    {
        var expected = ExpectedChunks;
        if (expected < 0)
        {
            throw new InvalidOperationException("A chunk was stored before the job's chunk count was known.");
        }
        var after = Interlocked.Add(ref _stored, count);
        return after >= expected && after - count < expected;
    }

    /// <summary>True for the one caller that may settle the job.</summary>
    public bool TrySettle() => Interlocked.Exchange(ref _settled, 1) == 0;

    /// <summary>The job was settled as rejected: whatever of it was stored must be withdrawn.</summary>
    public bool WasRejected => Volatile.Read(ref _rejected) != 0;

    /// <summary>
    /// Marks the job rejected; true when chunks of it were stored already. Both this and <see cref="ChunksStored"/>
    /// are full fences, so of a rejection and a store that race, at least one sees the other: the rejecter sees the
    /// stored chunk, or the writer sees <see cref="WasRejected"/> after its write.
    /// </summary>
    public bool MarkRejected()
    {
        Interlocked.Exchange(ref _rejected, 1);
        return Interlocked.CompareExchange(ref _stored, 0, 0) > 0;
    }
}
