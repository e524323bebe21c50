namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// How many embeddings requests may be in flight, found by additive increase / multiplicative decrease:
/// starting at one, the limit grows by one per success until the endpoint first pushes back (slow start),
/// then by one per round of <c>limit</c> successes. A 429 or 503 halves it, at most once per round trip, so a
/// burst of refusals from requests sent together counts as one signal. Bounded by <c>Embeddings:MaxConcurrency</c>.
/// Live work first here too: a live request waiting for a slot gets the next one before any backfill copy, and copies
/// never hold the last slot (once the limit is two or more), so a live request never waits behind copies that hold
/// every slot while they wait for the rate budget — however many backfill pages are in work.
/// </summary>
internal sealed class AdaptiveConcurrencyLimit
{
    private const double DecreaseFactor = 0.5;
    private static readonly TimeSpan InitialRoundTrip = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private readonly Queue<TaskCompletionSource> _backfillWaiters = new();
    private readonly TimeProvider _time;
    private readonly int _max;
    private double _limit = 1;
    private bool _slowStart = true;
    private int _inFlight;
    private int _backfillInFlight;
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

    /// <summary>Waits until a request may be sent (a <paramref name="backfill"/> copy after live work); dispose the permit when its answer is in.</summary>
    public async ValueTask<Permit> AcquireAsync(CancellationToken cancellationToken, bool backfill = false)
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (backfill ? _backfillWaiters.Count == 0 && _waiters.Count == 0 && BackfillMayTake() : _waiters.Count == 0 && _inFlight < (int)_limit)
            {
                Take(backfill);
                return new Permit(this, backfill);
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (backfill ? _backfillWaiters : _waiters).Enqueue(waiter);
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
                    Give(backfill);
                    WakeWaiters();
                }
                else
                {
                    waiter.TrySetCanceled(cancellationToken);
                }
            }
            throw;
        }
        return new Permit(this, backfill);
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

    private void Release(bool backfill)
    {
        lock (_gate)
        {
            Give(backfill);
            WakeWaiters();
        }
    }

    /// <summary>A copy may take a slot that is free and not the last one (unless the limit is one).</summary>
    private bool BackfillMayTake() => _inFlight < (int)_limit && _backfillInFlight < Math.Max(1, (int)_limit - 1);

    private void Take(bool backfill)
    {
        _inFlight++;
        _backfillInFlight += backfill ? 1 : 0;
    }

    private void Give(bool backfill)
    {
        _inFlight--;
        _backfillInFlight -= backfill ? 1 : 0;
    }

    /// <summary>Live waiters first, then copies as far as they may take slots.</summary>
    private void WakeWaiters()
    {
        while (_inFlight < (int)_limit && _waiters.TryDequeue(out var waiter))
        {
            if (waiter.TrySetResult())
            {
                Take(backfill: false);
            }
        }
        while (_waiters.Count == 0 && BackfillMayTake() && _backfillWaiters.TryDequeue(out var waiter))
        {
            if (waiter.TrySetResult())
            {
                Take(backfill: true);
            }
        }
    }

    /// <summary>One request's slot; disposing it frees the slot.</summary>
    internal readonly struct Permit(AdaptiveConcurrencyLimit owner, bool backfill) : IDisposable
    {
        public void Dispose() => owner?.Release(backfill);
    }
}
