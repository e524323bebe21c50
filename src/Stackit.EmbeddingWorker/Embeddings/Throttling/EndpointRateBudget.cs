namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// The client-side budget of <c>Embeddings:TokensPerMinute</c> and <c>Embeddings:RequestsPerMinute</c>: token
/// buckets that refill steadily and hold at most a second's worth (or one full request), so the worker sends
/// at the budget instead of bursting into 429s.
/// </summary>
internal sealed class EndpointRateBudget : IDisposable, IAsyncDisposable
{
    private readonly Bucket? _tokens;
    private readonly Bucket? _requests;

    public EndpointRateBudget(int? tokensPerMinute, int? requestsPerMinute, int maxTokensPerRequest, TimeProvider time)
    {
        _tokens = tokensPerMinute is { } tpm ? new Bucket(tpm, maxTokensPerRequest, time) : null;
        _requests = requestsPerMinute is { } rpm ? new Bucket(rpm, 1, time) : null;
    }

    public bool IsLimited => _tokens is not null || _requests is not null;

    /// <summary>Requests waiting for the budget now.</summary>
    public long Waiting => (_tokens?.Waiting ?? 0) + (_requests?.Waiting ?? 0);

    /// <summary>Waits until one request of <paramref name="tokens"/> estimated tokens fits the budget.</summary>
    public async ValueTask AcquireAsync(int tokens, CancellationToken cancellationToken)
    {
        if (_requests is not null)
        {
            await _requests.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        if (_tokens is not null)
        {
            await _tokens.AcquireAsync(tokens, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Settles a request's tokens at the count the server reported, so the budget tracks what the server
    /// charges rather than the (deliberately high) estimate.
    /// </summary>
    public void Settle(int estimatedTokens, int countedTokens) => _tokens?.Adjust(estimatedTokens - countedTokens);

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

    private sealed class Bucket : IDisposable
    {
        private readonly int _capacity;
        private readonly SteadyTokenBucket _limiter;

        public Bucket(int perMinute, int largestAcquire, TimeProvider time)
        {
            _capacity = Math.Max(largestAcquire, perMinute / 60);
            _limiter = new SteadyTokenBucket(_capacity, perMinute / 60.0, time);
        }

        public async ValueTask AcquireAsync(int permits, CancellationToken cancellationToken)
        {
            using var lease = await _limiter.AcquireAsync(Math.Clamp(permits, 1, _capacity), cancellationToken).ConfigureAwait(false);
            if (!lease.IsAcquired)
            {
                throw new ObjectDisposedException(nameof(EndpointRateBudget));
            }
        }

        public long Waiting => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

        public void Adjust(int returnedPermits) => _limiter.Adjust(returnedPermits);

        public void Dispose() => _limiter.Dispose();
    }
}
