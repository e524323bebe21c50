namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// When the pipeline last moved: a call to the endpoint or Qdrant that succeeded, a message settled, or Intake
/// finding nothing in flight. Liveness (<c>/healthz</c>) fails when messages are held and nothing has moved for
/// longer than <c>Management:LivenessThreshold</c> while every dependency answers: a wedged pipeline that only a
/// restart frees.
/// </summary>
internal sealed class ProgressWatch(TimeProvider time)
{
    private long _movedAt = time.GetTimestamp();

    public void Moved() => Interlocked.Exchange(ref _movedAt, time.GetTimestamp());

    public TimeSpan SinceMoved => time.GetElapsedTime(Interlocked.Read(ref _movedAt));
}
