namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// This replica's part of <c>Embeddings:TokensPerMinute</c> and <c>Embeddings:RequestsPerMinute</c>: token buckets
/// that refill steadily at <see cref="Share"/> of the budget times the <see cref="Pace"/> and hold at most a second's
/// worth of it (a larger request waits for a full bucket and leaves debt), so the worker sends at its share instead of
/// bursting into 429s. The share is set by the <see cref="FleetBudgetService"/>; what the replica used and waited for,
/// per kind of work, is what it reports back. The pace is <c>Fleet:TargetUtilization</c> (headroom for the bucket's
/// one-second burst under an endpoint that counts a strict 60 s window) times the reaction to 429s
/// (<see cref="ThrottleReaction"/>). Every attempt is charged: a retry waits for the budget again, since the endpoint
/// counts every attempt it takes in. A request is charged at what the endpoint is expected to count — its estimate
/// times the <see cref="CountedRatio"/> of the last answers — and settled at the count: charging the
/// (deliberately high) estimate and paying the difference back when the answer came let the refund land on a bucket
/// about to be full, where it was cut off (benchmark <c>limiter-faults</c>: 91–92 % of the budget in the first minute,
/// while estimates ran a third above the counts).
/// </summary>
internal sealed class EndpointRateBudget : IDisposable, IAsyncDisposable
{
    /// <summary>A wait this long for the budget means the replica wants more than its share.</summary>
    internal static readonly TimeSpan SaturatedWait = TimeSpan.FromMilliseconds(200);

    /// <summary>What a replica that got all it asked for reports above its use, so that noise does not strip it.</summary>
    internal const double Headroom = 1.25;

    /// <summary>No request is cut smaller than this to fit a replica's part of the budget.</summary>
    internal const int MinimumRequestTokens = 256;

    /// <summary>The request being sent in this async flow, so the handler that sees every attempt can charge the retries.</summary>
    private static readonly AsyncLocal<Attempts?> CurrentRequest = new();

    private readonly MinuteBucket? _tokens;
    private readonly MinuteBucket? _requests;
    private readonly TimeProvider _time;
    private readonly int _maxTokensPerRequest;
    private readonly BudgetUse _live = new();
    private readonly BudgetUse _backfill = new();
    private readonly ThrottleReaction _reaction;
    private readonly CountedRatio _counted = new();
    private long _useSince;
    private double _share;

    public EndpointRateBudget(int? tokensPerMinute, int? requestsPerMinute, int maxTokensPerRequest, TimeProvider time, double share = 1.0, double targetUtilization = 1.0)
    {
        _time = time;
        _maxTokensPerRequest = maxTokensPerRequest;
        _share = Math.Clamp(share, 0, 1);
        _reaction = new ThrottleReaction(targetUtilization, time);
        _tokens = tokensPerMinute is { } tpm ? new MinuteBucket(tpm, _share * _reaction.Pace, time) : null;
        _requests = requestsPerMinute is { } rpm ? new MinuteBucket(rpm, _share * _reaction.Pace, time) : null;
        _useSince = time.GetTimestamp();
    }

    /// <summary>The fraction of this replica's share it sends at now: the target utilisation times the reaction to 429s.</summary>
    public double Pace => _reaction.Pace;

    public bool IsLimited => _tokens is not null || _requests is not null;

    public int? TokensPerMinute => _tokens?.PerMinute;

    public int? RequestsPerMinute => _requests?.PerMinute;

    /// <summary>The fraction of the budget this replica may use now.</summary>
    public double Share => Volatile.Read(ref _share);

    /// <summary>
    /// The most estimated tokens one request should carry now: one second of this replica's share of the token budget
    /// (at least <see cref="MinimumRequestTokens"/>, and at least twice the tokens a request averages under the request
    /// budget), at most the configured <c>Batching:MaxTokensPerRequest</c>; the configured size without a token budget.
    /// Replicas send at moments nobody coordinates, so what they may send at once must stay within the short burst the
    /// endpoint allows, whatever the moments; and a request larger than the bucket's second leaves debt, a burst of
    /// its size above the rate that a strict 60 s window counts (a lone replica at the whole budget of a small project,
    /// with requests of 1.5 s of it: 1 of 39 requests answered 429 in the benchmark's limiter-faults row).
    /// </summary>
    public int MaxRequestTokens
    {
        get
        {
            if (_tokens is null)
            {
                return _maxTokensPerRequest;
            }
            var oneSecond = _tokens.PerMinute * Share / 60;
            var perRequest = _requests is null ? 0 : 2.0 * _tokens.PerMinute / _requests.PerMinute;
            return (int)Math.Clamp(Math.Max(Math.Max(oneSecond, perRequest), MinimumRequestTokens), 1, Math.Max(1, _maxTokensPerRequest));
        }
    }

    /// <summary>
    /// Sets the fraction of the budget this replica uses from now on. <paramref name="fill"/>: the buckets start full at
    /// it (a second's worth), as a budget made with a share does; the first share of a replica that started with none.
    /// </summary>
    public void SetShare(double share, bool fill = false)
    {
        share = Math.Clamp(share, 0, 1);
        Volatile.Write(ref _share, share);
        ApplyRate(fill);
    }

    /// <summary>
    /// Hands back budget the fleet left unused (a killed replica's share until it aged out): <paramref name="minutes"/>
    /// of the whole budget at the pace now, added to the buckets at once, at most up to their capacity (a second of
    /// this replica's share).
    /// </summary>
    public void Credit(double minutes)
    {
        if (minutes <= 0)
        {
            return;
        }
        var pace = Pace;
        _tokens?.Adjust((int)(_tokens.PerMinute * minutes * pace));
        _requests?.Adjust((int)(_requests.PerMinute * minutes * pace));
    }

    /// <summary>The endpoint answered 429 for this budget's model: the pace falls (<see cref="ThrottleReaction"/>).</summary>
    public void Throttled()
    {
        if (IsLimited && _reaction.Throttled())
        {
            ApplyRate();
        }
    }

    /// <summary>While the reaction recovers, brings the buckets' rate up to it.</summary>
    private void KeepPace()
    {
        if (_reaction.Recovered())
        {
            ApplyRate();
        }
    }

    private void ApplyRate(bool fill = false)
    {
        var rate = Share * Pace;
        _tokens?.SetRate(rate, fill);
        _requests?.SetRate(rate, fill);
    }

    /// <summary>Waits until one request of <paramref name="tokens"/> estimated tokens fits the budget.</summary>
    public async ValueTask AcquireAsync(int tokens, CancellationToken cancellationToken, bool backfill = false)
    {
        if (!IsLimited)
        {
            return;
        }
        KeepPace();
        var use = backfill ? _backfill : _live;
        var started = _time.GetTimestamp();
        use.StartWaiting();
        try
        {
            // Live work is served ahead of a backfill's waiting requests: a copy never delays a live job by more than
            // the requests already admitted.
            if (_requests is not null)
            {
                await _requests.AcquireAsync(1, cancellationToken, ahead: !backfill).ConfigureAwait(false);
            }
            if (_tokens is not null)
            {
                await _tokens.AcquireAsync(tokens, cancellationToken, ahead: !backfill).ConfigureAwait(false);
            }
        }
        finally
        {
            use.StopWaiting(_time.GetElapsedTime(started) >= SaturatedWait);
        }
        use.Granted(tokens);
    }

    /// <summary>
    /// One request charged to the budget: waits until what the endpoint is expected to count of its
    /// <paramref name="tokens"/> (estimated) fits, sends it (in flight until answered or given up), and settles the
    /// charge at the count the answer reports.
    /// </summary>
    public async Task<EmbeddingResult> ChargeAsync(int tokens, Func<CancellationToken, Task<EmbeddingResult>> send, CancellationToken cancellationToken, bool backfill = false)
    {
        var charged = _counted.Expected(tokens);
        await AcquireAsync(charged, cancellationToken, backfill).ConfigureAwait(false);
        EmbeddingResult result;
        var outer = CurrentRequest.Value;
        CurrentRequest.Value = new Attempts(this, charged, backfill);
        try
        {
            result = await send(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CurrentRequest.Value = outer;
            Finished(backfill);
        }
        if (result.PromptTokens is { } counted)
        {
            Settle(charged, counted);
            _counted.Observe(tokens, counted);
        }
        return result;
    }

    /// <summary>
    /// Called by the handler that sees every attempt (<see cref="EndpointFeedbackHandler"/>) before each one: the first
    /// attempt of a request was charged by <see cref="ChargeAsync"/>; every later one (a retry) waits for the budget
    /// again, as the endpoint counts it again. Outside a charged request, nothing.
    /// </summary>
    public static async ValueTask ChargeAttemptAsync(CancellationToken cancellationToken)
    {
        if (CurrentRequest.Value is not { } attempts || attempts.Next() == 1)
        {
            return;
        }
        var budget = attempts.Budget;
        await budget.AcquireAsync(attempts.Tokens, cancellationToken, attempts.Backfill).ConfigureAwait(false);
        // In flight already, as the request it retries.
        budget.Finished(attempts.Backfill);
    }

    /// <summary>A request admitted by the budget has been answered (or given up): it is no longer in flight.</summary>
    public void Finished(bool backfill = false)
    {
        if (IsLimited)
        {
            (backfill ? _backfill : _live).Finished();
        }
    }

    /// <summary>
    /// Settles a request's tokens at the count the server reported, so the budget tracks what the server
    /// counts rather than what the request was charged.
    /// </summary>
    public void Settle(int chargedTokens, int countedTokens) => _tokens?.Adjust(chargedTokens - countedTokens);

    /// <summary>
    /// Follows the limit the server declares (<c>x-ratelimit-limit-tokens</c>/<c>-requests</c>): when it is lower than
    /// the configured budget (set too high, or lowered for the project), the budget shrinks to it, and grows back
    /// (never above the configuration) when the server declares more. What remains of the server's window
    /// (<c>x-ratelimit-remaining-*</c>) is no signal to a fleet already paced at the budget: it is near zero whenever the
    /// budget is spent, and emptying the buckets on it lined the replicas up and cost 429s (benchmark: 10 of 231
    /// requests against none without).
    /// </summary>
    public void Observe(ServerRateLimits limits)
    {
        var rate = Share * Pace;
        _tokens?.Follow(limits.LimitTokens, rate);
        _requests?.Follow(limits.LimitRequests, rate);
    }

    /// <summary>
    /// What this replica asked of the budget since the last call, as fractions of the whole budget per minute for
    /// live and backfill work: infinity for work that waited for the budget (it wants more); otherwise what was granted,
    /// with <see cref="Headroom"/>, and while requests are in flight (being answered, or waiting out a retry) at least
    /// the share the replica holds now: a replica busy with slow or refused requests has not stopped needing its part.
    /// </summary>
    public (double Live, double Backfill) TakeDemand()
    {
        var now = _time.GetTimestamp();
        var minutes = Math.Max((now - Interlocked.Exchange(ref _useSince, now)) / (double)_time.TimestampFrequency / 60, 1e-6);
        return (Demand(_live.Take(), minutes), Demand(_backfill.Take(), minutes));
    }

    public void Dispose()
    {
        _tokens?.Dispose();
        _requests?.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private double Demand((long Tokens, long Requests, bool Saturated, bool InFlight) use, double minutes)
    {
        if (use.Saturated)
        {
            return double.PositiveInfinity;
        }
        var tokens = _tokens is null ? 0 : use.Tokens / minutes / _tokens.PerMinute;
        var requests = _requests is null ? 0 : use.Requests / minutes / _requests.PerMinute;
        var used = Math.Max(tokens, requests) * Headroom;
        return use.InFlight ? Math.Max(used, Share) : used;
    }

    /// <summary>One charged request's attempts so far.</summary>
    private sealed class Attempts(EndpointRateBudget budget, int tokens, bool backfill)
    {
        private int _count;

        public EndpointRateBudget Budget => budget;

        public int Tokens => tokens;

        public bool Backfill => backfill;

        public int Next() => Interlocked.Increment(ref _count);
    }
}
