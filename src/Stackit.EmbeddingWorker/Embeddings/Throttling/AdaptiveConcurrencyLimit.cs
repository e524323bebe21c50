namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// How many embeddings requests may be in flight, found by additive increase / multiplicative decrease:
/// starting at one, the limit grows by one per success until the endpoint first pushes back (slow start),
/// then by one per round of <c>limit</c> successes. A 429 or 503 halves it, at most once per round trip, so a
/// burst of refusals from requests sent together counts as one signal. Bounded by <c>Embeddings:MaxConcurrency</c>.
/// </summary>
internal sealed class AdaptiveConcurrencyLimit
{
    private const double DecreaseFactor = 0.5;
    private static readonly TimeSpan InitialRoundTrip = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private readonly TimeProvider _time;
    private readonly int _max;
    private double _limit = 1;
    private bool _slowStart = true;
    private int _inFlight;
    private long _lastDecrease;
    private TimeSpan _roundTrip = InitialRoundTrip;

    public AdaptiveConcurrencyLimit(int maxConcurrency, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        _max = maxConcurrency;
        _time = time;
        _lastDecrease = time.GetTimestamp() - (long)(InitialRoundTrip.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>The current limit, rounded down: requests allowed in flight now.</summary>
    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return (int)_limit;
            }
        }
    }

    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Waits until a request may be sent; dispose the permit when its answer is in.</summary>
    public async ValueTask<Permit> AcquireAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _inFlight < (int)_limit)
            {
                _inFlight++;
                return new Permit(this);
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }
        try
        {
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                // Granted in the meantime: hand the slot back.
                if (waiter.Task.IsCompletedSuccessfully)
                {
                    _inFlight--;
                    WakeWaiters();
                }
                else
                {
                    waiter.TrySetCanceled(cancellationToken);
                }
            }
            throw;
        }
        return new Permit(this);
    }

    /// <summary>An attempt was answered: the endpoint keeps up.</summary>
    public void OnSuccess(TimeSpan duration)
    {
        lock (_gate)
        {
            _roundTrip = TimeSpan.FromTicks((long)((_roundTrip.Ticks * 0.8) + (duration.Ticks * 0.2)));
            _limit = Math.Min(_max, _limit + (_slowStart ? 1 : 1 / _limit));
            WakeWaiters();
        }
    }

    /// <summary>An attempt was answered 429 or 503: the endpoint is at its limit.</summary>
    public void OnThrottled()
    {
        lock (_gate)
        {
            _slowStart = false;
            if (_time.GetElapsedTime(_lastDecrease) < _roundTrip)
            {
                return;
            }
            _limit = Math.Max(1, Math.Floor(_limit * DecreaseFactor));
            _lastDecrease = _time.GetTimestamp();
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _inFlight--;
            WakeWaiters();
        }
    }

    private void WakeWaiters()
    {
        while (_inFlight < (int)_limit && _waiters.TryDequeue(out var waiter))
        {
            if (waiter.TrySetResult())
            {
                _inFlight++;
            }
        }
    }

    /// <summary>One request's slot; disposing it frees the slot.</summary>
    internal readonly struct Permit(AdaptiveConcurrencyLimit owner) : IDisposable
    {
        public void Dispose() => owner?.Release();
    }
}
