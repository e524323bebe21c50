using System.Threading.RateLimiting;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// A token bucket that refills continuously at <c>perSecond</c> up to <c>capacity</c>, on an injected
/// <see cref="TimeProvider"/>. Waiters are served in arrival order, so a large request is not starved by
/// small ones; a waiter that comes <i>ahead</i> (<see cref="AcquireAheadAsync"/>: live work beside a backfill) is
/// served before every ordinary one, in its own arrival order. (The framework's TokenBucketRateLimiter measures time on the real clock, which tests cannot
/// drive; this one keeps the same <see cref="RateLimiter"/> contract.)
/// </summary>
internal sealed class SteadyTokenBucket : RateLimiter
{
    private static readonly TimeSpan SmallestWait = TimeSpan.FromMilliseconds(1);

    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private double _perSecond;
    private int _capacity;
    private double _available;
    private long _lastRefill;
    private long? _idleSince;

    /// <summary>
    /// A full bucket of <paramref name="capacity"/> that refills at <paramref name="perSecond"/> on <paramref name="time"/>.
    /// An acquisition larger than the capacity waits for a full bucket and leaves the rest as debt, so it is charged in
    /// full and the rate holds over time.
    /// </summary>
    /// <param name="capacity">The most permits the bucket holds.</param>
    /// <param name="perSecond">The refill rate; zero holds the bucket where it is until <see cref="SetRate"/>.</param>
    /// <param name="time">The clock.</param>
    public SteadyTokenBucket(int capacity, double perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(perSecond);
        _capacity = capacity;
        _perSecond = perSecond;
        _time = time;
        // As after SetRate: no refill holds nothing.
        _available = perSecond > 0 ? capacity : 0;
        _lastRefill = time.GetTimestamp();
        _idleSince = _lastRefill;
        _timer = time.CreateTimer(_ => ServeWaiters(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                return _idleSince is { } since ? _time.GetElapsedTime(since) : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            Refill();
            return new RateLimiterStatistics { CurrentAvailablePermits = (long)_available, CurrentQueuedCount = _waiters.Count };
        }
    }

    /// <summary>
    /// Corrects an earlier acquisition once the true cost is known: a positive difference is paid back, a
    /// negative one is taken on as debt (the balance may go below zero and later waiters wait longer).
    /// </summary>
    public void Adjust(int returnedPermits)
    {
        lock (_gate)
        {
            Refill();
            _available = Math.Min(_capacity, _available + returnedPermits);
        }
        if (returnedPermits > 0)
        {
            ServeWaiters();
        }
    }

    /// <summary>
    /// Changes the refill rate (zero stops the refill) and the capacity. Tokens already in the bucket above the new
    /// capacity are dropped; with <paramref name="fill"/> (and a refill), the bucket is filled to it, as a new one is.
    /// </summary>
    public void SetRate(double perSecond, int capacity, bool fill = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perSecond);
        lock (_gate)
        {
            Refill();
            _perSecond = perSecond;
            _capacity = Math.Max(1, capacity);
            // No refill holds nothing either: a share of nothing lets no request through.
            _available = perSecond <= 0 ? Math.Min(_available, 0)
                : fill ? Math.Max(_available, _capacity)
                : Math.Min(_available, _capacity);
        }
        // Serves what the new rate allows and schedules the next wake-up at it.
        ServeWaiters();
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        CheckPermitCount(permitCount);
        lock (_gate)
        {
            Refill();
            return _waiters.Count == 0 && TryTake(permitCount) ? Lease.Granted : Lease.Refused;
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        Acquire(permitCount, ahead: false, cancellationToken);

    /// <summary>As <see cref="RateLimiter.AcquireAsync"/>, served before every waiter that did not come ahead.</summary>
    public ValueTask<RateLimitLease> AcquireAheadAsync(int permitCount, CancellationToken cancellationToken = default) =>
        Acquire(permitCount, ahead: true, cancellationToken);

    private ValueTask<RateLimitLease> Acquire(int permitCount, bool ahead, CancellationToken cancellationToken)
    {
        CheckPermitCount(permitCount);
        Waiter waiter;
        lock (_gate)
        {
            Refill();
            // Ahead of ordinary waiters, it only waits for those that came ahead before it.
            if ((_waiters.First is null || (ahead && !_waiters.First.Value.Ahead)) && TryTake(permitCount))
            {
                return ValueTask.FromResult<RateLimitLease>(Lease.Granted);
            }
            waiter = new Waiter(permitCount, ahead);
            var firstBehind = ahead ? FirstBehind() : null;
            waiter.Node = firstBehind is null ? _waiters.AddLast(waiter) : _waiters.AddBefore(firstBehind, waiter);
            _idleSince = null;
            ScheduleWake();
        }
        waiter.Cancellation = cancellationToken.UnsafeRegister(_ => Cancel(waiter, cancellationToken), null);
        return new ValueTask<RateLimitLease>(waiter.Completion.Task);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer.Dispose();
            lock (_gate)
            {
                foreach (var waiter in _waiters)
                {
                    waiter.Completion.TrySetResult(Lease.Refused);
                }
                _waiters.Clear();
            }
        }
        base.Dispose(disposing);
    }

    protected override ValueTask DisposeAsyncCore()
    {
        Dispose(true);
        return ValueTask.CompletedTask;
    }

    private LinkedListNode<Waiter>? FirstBehind()
    {
        for (var node = _waiters.First; node is not null; node = node.Next)
        {
            if (!node.Value.Ahead)
            {
                return node;
            }
        }
        return null;
    }

    private static void CheckPermitCount(int permitCount) =>
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var seconds = (double)(now - _lastRefill) / _time.TimestampFrequency;
        _available = Math.Min(_capacity, _available + (seconds * _perSecond));
        _lastRefill = now;
    }

    /// <summary>Takes the permits once the bucket holds them, or is full for a larger acquisition (which leaves debt).</summary>
    private bool TryTake(int permits)
    {
        if (_available < Math.Min(permits, _capacity))
        {
            return false;
        }
        _available -= permits;
        return true;
    }

    private void ServeWaiters()
    {
        lock (_gate)
        {
            Refill();
            while (_waiters.First is { } first && TryTake(first.Value.Permits))
            {
                _waiters.RemoveFirst();
                first.Value.Cancellation.Dispose();
                first.Value.Completion.TrySetResult(Lease.Granted);
            }
            if (_waiters.Count == 0)
            {
                _idleSince = _time.GetTimestamp();
            }
            else
            {
                ScheduleWake();
            }
        }
    }

    /// <summary>Wakes when the first waiter's permits will have refilled.</summary>
    private void ScheduleWake()
    {
        var deficit = Math.Min(_waiters.First!.Value.Permits, _capacity) - _available;
        if (_perSecond <= 0)
        {
            // No refill (a share of nothing): the next SetRate wakes the waiters.
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var wait = TimeSpan.FromSeconds(Math.Min(Math.Max(0, deficit) / _perSecond, TimeSpan.FromDays(1).TotalSeconds));
        _timer.Change(wait < SmallestWait ? SmallestWait : wait, Timeout.InfiniteTimeSpan);
    }

    private void Cancel(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }
            _waiters.Remove(waiter.Node);
            if (_waiters.Count > 0)
            {
                ScheduleWake();
            }
        }
        waiter.Completion.TrySetCanceled(cancellationToken);
    }

    private sealed class Waiter(int permits, bool ahead)
    {
        public int Permits { get; } = permits;

        public bool Ahead { get; } = ahead;
        public TaskCompletionSource<RateLimitLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node { get; set; }
        public CancellationTokenRegistration Cancellation { get; set; }
    }

    private sealed class Lease(bool acquired) : RateLimitLease
    {
        public static readonly Lease Granted = new(true);
        public static readonly Lease Refused = new(false);

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
