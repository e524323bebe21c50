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

    /// <summary>Records one stored chunk; true when it was the last one.</summary>
    public bool ChunkStored()
    {
        var expected = ExpectedChunks;
        if (expected < 0)
        {
            throw new InvalidOperationException("A chunk was stored before the job's chunk count was known.");
        }
        return Interlocked.Increment(ref _stored) == expected;
    }

    /// <summary>True for the one caller that may settle the job.</summary>
    public bool TrySettle() => Interlocked.Exchange(ref _settled, 1) == 0;
}
