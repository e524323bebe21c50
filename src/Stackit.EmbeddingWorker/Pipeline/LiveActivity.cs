namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Whether the live queue has work: Intake tells after every receive. Backfill work is taken only while the last
/// receive found the live queue empty, so live jobs always go first in each replica.
/// </summary>
internal sealed class LiveActivity
{
    private volatile bool _idle;

    public bool IsIdle => _idle;

    public void Received(int messages) => _idle = messages == 0;
}
