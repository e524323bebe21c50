namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// One per-minute budget of an <see cref="EndpointRateBudget"/> (tokens or requests): a <see cref="SteadyTokenBucket"/> that
/// refills at a fraction of the budget (the replica's share times its pace) and holds a second's worth of that. It
/// follows a lower limit the server declares, never above the configured one.
/// </summary>
internal sealed class MinuteBucket : IDisposable
{
    private readonly SteadyTokenBucket _limiter;
    private readonly int _configured;
    private volatile int _perMinute;

    public MinuteBucket(int perMinute, double fraction, TimeProvider time)
    {
        _configured = perMinute;
        _perMinute = perMinute;
        _limiter = new SteadyTokenBucket(Capacity(perMinute * fraction), perMinute * fraction / 60.0, time);
    }

    /// <summary>The budget per minute now: the configured one, or the server's declared limit when lower.</summary>
    public int PerMinute => _perMinute;

    public async ValueTask AcquireAsync(int permits, CancellationToken cancellationToken, bool ahead = false)
    {
        using var lease = await (ahead ? _limiter.AcquireAheadAsync(Math.Max(permits, 1), cancellationToken) : _limiter.AcquireAsync(Math.Max(permits, 1), cancellationToken)).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            throw new ObjectDisposedException(nameof(EndpointRateBudget));
        }
    }

    /// <summary>Refills at <paramref name="fraction"/> of the budget from now on; <paramref name="fill"/> fills the bucket to a second of it.</summary>
    public void SetRate(double fraction, bool fill = false) => _limiter.SetRate(PerMinute * fraction / 60.0, Capacity(PerMinute * fraction), fill);

    public void Adjust(int returnedPermits) => _limiter.Adjust(returnedPermits);

    /// <summary>Follows the limit the server declares, at <paramref name="fraction"/> of it.</summary>
    public void Follow(long? declared, double fraction)
    {
        if (declared is not { } limit || limit <= 0)
        {
            return;
        }
        var perMinute = (int)Math.Min(_configured, limit);
        if (perMinute != _perMinute)
        {
            _perMinute = perMinute;
            SetRate(fraction);
        }
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>A second's worth of the rate; a larger request waits for a full bucket and leaves debt.</summary>
    private static int Capacity(double perMinute) => (int)Math.Max(1, perMinute / 60);
}
