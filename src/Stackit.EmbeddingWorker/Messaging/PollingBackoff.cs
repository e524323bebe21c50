namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>Randomized exponential delay between polls of an empty queue: 100 ms doubling up to a maximum.</summary>
internal sealed class PollingBackoff(TimeSpan maximum, Random random)
{
    public static readonly TimeSpan Minimum = TimeSpan.FromMilliseconds(100);

    private TimeSpan _current = TimeSpan.Zero;

    public TimeSpan Next()
    {
        var doubled = _current == TimeSpan.Zero ? Minimum : _current * 2;
        _current = doubled < maximum ? doubled : maximum;
        // ±20 % so that idle replicas do not poll in lock step.
        var jitter = 0.8 + (random.NextDouble() * 0.4);
        var delay = _current * jitter;
        return delay < maximum ? delay : maximum;
    }

    public void Reset() => _current = TimeSpan.Zero;
}
