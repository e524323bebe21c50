using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

public sealed class EndpointRateBudgetTests
{
    private readonly FakeTimeProvider _time = new();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_limits_every_request_passes_at_once()
    {
        await using var budget = new EndpointRateBudget(null, null, 16_384, _time);

        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(budget.AcquireAsync(16_384, Cancel).IsCompleted);
        }
        Assert.False(budget.IsLimited);
    }

    [Fact]
    public async Task A_budget_made_with_no_share_lets_nothing_through_until_it_is_given_one()
    {
        // A model's budget made while the fleet shares budgets waits for its first heartbeat; a full first bucket let
        // one request through at no share.
        await using var budget = new EndpointRateBudget(60_000, null, 16_384, _time, share: 0);

        var first = budget.AcquireAsync(10, Cancel).AsTask();
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.False(first.IsCompleted);
        budget.SetShare(1);
        _time.Advance(TimeSpan.FromSeconds(1));
        await first.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task A_share_set_with_a_fill_starts_with_a_second_of_it_and_a_later_share_takes_nothing_more()
    {
        await using var budget = new EndpointRateBudget(60_000, null, 16_384, _time, share: 0);

        budget.SetShare(0.5, fill: true);

        // A second of half of 60,000 tokens a minute.
        Assert.Equal(Grant.Now, await ImmediateGrant.TryAsync(budget, 500, Cancel));
        budget.SetShare(1);
        Assert.Equal(Grant.None, await ImmediateGrant.TryAsync(budget, 10, Cancel));
        budget.SetShare(0, fill: true);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(Grant.None, await ImmediateGrant.TryAsync(budget, 10, Cancel));
    }

    [Fact]
    public async Task Over_a_simulated_minute_the_tokens_granted_are_the_budget_plus_at_most_the_first_burst()
    {
        const int tokensPerMinute = 600_000;
        const int request = 4_000;
        await using var budget = new EndpointRateBudget(tokensPerMinute, null, 16_384, _time);

        var granted = await GrantedWithinAsync(budget, request, TimeSpan.FromMinutes(1));

        // The bucket starts full with a second's worth (10,000 tokens), then refills at the budget.
        Assert.InRange(granted * request, tokensPerMinute - request, tokensPerMinute + 10_000);
    }

    [Fact]
    public async Task Over_a_simulated_minute_the_requests_granted_are_the_budget_plus_at_most_the_first_burst()
    {
        const int requestsPerMinute = 100;
        await using var budget = new EndpointRateBudget(null, requestsPerMinute, 16_384, _time);

        var granted = await GrantedWithinAsync(budget, 10, TimeSpan.FromMinutes(1));

        Assert.InRange(granted, requestsPerMinute - 1, requestsPerMinute + 1);
    }

    [Fact]
    public async Task A_request_larger_than_a_seconds_budget_still_passes_once_the_bucket_is_full()
    {
        await using var budget = new EndpointRateBudget(60_000, null, 16_384, _time);

        var first = budget.AcquireAsync(16_384, Cancel);

        Assert.True(first.IsCompleted);
        var second = budget.AcquireAsync(16_384, Cancel).AsTask();
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(17));
        await second.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task A_live_request_is_served_ahead_of_the_backfill_requests_that_wait_for_the_budget()
    {
        // 1,000 tokens a second. A migration's copies queue for the budget; a live request that arrives after them is
        // served at the next refill, not after every copy (benchmark 'backfill' (b): live p50 17 s → 1 s).
        await using var budget = new EndpointRateBudget(60_000, null, 1_000, _time);
        await budget.AcquireAsync(1_000, Cancel, backfill: true);
        var copies = Enumerable.Range(0, 5).Select(_ => budget.AcquireAsync(1_000, Cancel, backfill: true).AsTask()).ToList();
        var live = budget.AcquireAsync(1_000, Cancel).AsTask();

        _time.Advance(TimeSpan.FromSeconds(1));
        await live.WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        Assert.All(copies, copy => Assert.False(copy.IsCompleted));
        for (var second = 0; second < copies.Count; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1)); // a second's worth at a time: the bucket holds no more
        }
        await Task.WhenAll(copies).WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task Settling_at_the_counted_tokens_pays_back_what_the_estimate_took_too_much()
    {
        await using var budget = new EndpointRateBudget(60_000, null, 1_000, _time);
        await budget.AcquireAsync(1_000, Cancel);
        var waiting = budget.AcquireAsync(1_000, Cancel).AsTask();
        Assert.False(waiting.IsCompleted);

        budget.Settle(chargedTokens: 1_000, countedTokens: 0);

        await waiting.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task Settling_above_the_estimate_leaves_a_debt_that_later_requests_wait_for()
    {
        await using var budget = new EndpointRateBudget(60_000, null, 1_000, _time);
        await budget.AcquireAsync(500, Cancel);
        budget.Settle(chargedTokens: 500, countedTokens: 1_500);

        var waiting = budget.AcquireAsync(500, Cancel).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    /// <summary>
    /// A client that always wants more: the fake clock runs the window in 10 ms steps, and after each step requests are
    /// made until one has to wait; that one is withdrawn. So the count is what the budget's arithmetic grants, whatever
    /// thread the clock's timer callbacks and the grants' continuations run on. (Counting waiters served by timer
    /// callbacks instead came out a few seconds' worth short now and then under a loaded test run.)
    /// </summary>
    [Fact]
    public async Task At_a_target_utilisation_the_budget_grants_that_part_of_its_rate()
    {
        const int tokensPerMinute = 600_000;
        await using var budget = new EndpointRateBudget(tokensPerMinute, null, 16_384, _time, targetUtilization: 0.9);

        _time.Advance(TimeSpan.FromMinutes(1));
        var granted = await GrantedWithinAsync(budget, 1_000, TimeSpan.FromMinutes(1));

        // A full bucket (a second of 90 %) and then 90 % of the rate.
        Assert.InRange(granted * 1_000, 0.9 * tokensPerMinute - 1_000, (0.9 * tokensPerMinute) + 9_000);
    }

    [Fact]
    public void A_429_cuts_the_pace_by_a_fifth_at_once_a_burst_of_them_once_and_the_pace_comes_back_slowly()
    {
        using var budget = new EndpointRateBudget(600_000, 600, 16_384, _time, targetUtilization: 0.95);

        budget.Throttled();
        Assert.Equal(0.95 * ThrottleReaction.Cut, budget.Pace, 1e-9);
        // The same burst: one signal.
        _time.Advance(TimeSpan.FromSeconds(1));
        budget.Throttled();
        Assert.Equal(0.95 * (0.8 + 0.0025), budget.Pace, 1e-9);
        // Another burst later: another cut, from where the recovery had come.
        _time.Advance(TimeSpan.FromSeconds(2));
        budget.Throttled();
        Assert.Equal(0.95 * (0.8 + (3 * 0.0025)) * 0.8, budget.Pace, 1e-9);
        // Never below half the target.
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(3));
            budget.Throttled();
        }
        Assert.Equal(0.95 * 0.5, budget.Pace, 1e-9);
        // Won back in 200 s from half, and no further than the target.
        _time.Advance(TimeSpan.FromSeconds(100));
        budget.Throttled();
        _time.Advance(TimeSpan.FromSeconds(300));
        Assert.True(budget.AcquireAsync(10, Cancel).IsCompleted);
        Assert.Equal(0.95, budget.Pace, 1e-9);
    }

    [Fact]
    public async Task After_a_429_the_budget_grants_the_lower_pace()
    {
        const int tokensPerMinute = 600_000;
        await using var budget = new EndpointRateBudget(tokensPerMinute, null, 16_384, _time);
        budget.Throttled();

        _time.Advance(TimeSpan.FromSeconds(10));
        var granted = await GrantedWithinAsync(budget, 1_000, TimeSpan.FromSeconds(20));

        // 80 % and the first 30 s of recovery (0.25 % a second): about 83 % of 20 s of the budget.
        Assert.InRange(granted * 1_000, 0.80 * tokensPerMinute / 3, 0.86 * tokensPerMinute / 3 + 10_000);
    }

    [Fact]
    public async Task Every_retry_is_charged_again_as_the_endpoint_counts_every_attempt()
    {
        await using var budget = new EndpointRateBudget(60_000, 600, 16_384, _time);
        _time.Advance(TimeSpan.FromSeconds(1));
        budget.TakeDemand();

        // Three attempts, as the handler inside the resilience pipeline sees them: the first charged by ChargeAsync,
        // the two retries by ChargeAttemptAsync.
        await budget.ChargeAsync(100, async token =>
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                await EndpointRateBudget.ChargeAttemptAsync(token);
            }
            return new EmbeddingResult([], 100);
        }, Cancel);
        // Outside a charged request, an attempt costs nothing.
        await EndpointRateBudget.ChargeAttemptAsync(Cancel);
        _time.Advance(TimeSpan.FromMinutes(1));

        var (live, _) = budget.TakeDemand();
        Assert.Equal(300.0 / 60_000 * EndpointRateBudget.Headroom, live, 1e-3);
    }

    [Theory]
    [InlineData(16_000, 12_000, 2_500)]
    [InlineData(16_000, 12_000, 1_000)]
    [InlineData(4_000, 3_000, 700)]
    [InlineData(12_000, 12_000, 2_500)]
    public async Task With_requests_always_waiting_the_tokens_the_endpoint_counts_reach_the_budget_whatever_the_estimate_was(int estimated, int counted, int latencyMs)
    {
        // Charged at the estimate (a third above the count) and paid back when the answer came, the refund landed on
        // a bucket about to be full whenever answers took longer than two requests' share of the budget, and was cut
        // off: 91-92 % of the budget in the first minute of the benchmark's limiter-faults row, where estimates ran a
        // third high. A request is charged at what the endpoint is expected to count.
        const int tokensPerMinute = 600_000;
        await using var budget = new EndpointRateBudget(tokensPerMinute, null, 16_384, _time);
        var latency = TimeSpan.FromMilliseconds(latencyMs);
        var inFlight = new List<(DateTimeOffset Due, TaskCompletionSource<EmbeddingResult> Answer)>();
        long countedInMinute = 0;
        var start = _time.GetUtcNow();
        for (var now = start; now < start + TimeSpan.FromMinutes(2); now = _time.GetUtcNow())
        {
            foreach (var request in inFlight.Where(r => r.Due <= now).ToList())
            {
                inFlight.Remove(request);
                request.Answer.SetResult(new EmbeddingResult([], counted));
            }
            // A client that always wants more: requests until one would have to wait, which is withdrawn.
            while (true)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
                var sent = false;
                var charging = budget.ChargeAsync(estimated, _ =>
                {
                    sent = true;
                    var answer = new TaskCompletionSource<EmbeddingResult>();
                    inFlight.Add((now + latency, answer));
                    return answer.Task;
                }, attempt.Token);
                if (!sent)
                {
                    await attempt.CancelAsync();
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => charging);
                    break;
                }
                // The second minute: after the first answers taught the budget what the endpoint counts.
                countedInMinute += now - start >= TimeSpan.FromMinutes(1) ? counted : 0;
            }
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.InRange(countedInMinute, 0.98 * tokensPerMinute, tokensPerMinute + (tokensPerMinute / 60) + counted);
    }

    private async Task<int> GrantedWithinAsync(EndpointRateBudget budget, int tokens, TimeSpan window)
    {
        var granted = 0;
        for (var elapsed = TimeSpan.Zero; elapsed < window; elapsed += TimeSpan.FromMilliseconds(10))
        {
            Grant grant;
            do
            {
                grant = await ImmediateGrant.TryAsync(budget, tokens, Cancel);
                granted += grant == Grant.None ? 0 : 1;
            }
            while (grant == Grant.Now);
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }
        return granted;
    }

    [Fact]
    public async Task A_replica_with_a_request_in_flight_reports_at_least_its_share_however_little_it_was_granted()
    {
        // A request stuck in retries after a 429 takes no budget for seconds: judged by its grants alone, the replica
        // looked idle, the others took its part, and their overshoot refused more of its requests.
        await using var budget = new EndpointRateBudget(600_000, null, 16_384, _time, share: 0.5);
        await budget.AcquireAsync(1_000, Cancel);
        budget.TakeDemand();
        _time.Advance(TimeSpan.FromSeconds(30));

        var (live, backfill) = budget.TakeDemand();
        Assert.Equal(0.5, live);
        Assert.Equal(0.0, backfill);

        budget.Finished();
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0.0, budget.TakeDemand().Live);
    }

    [Fact]
    public async Task What_a_replica_was_granted_is_reported_with_headroom_and_work_that_waited_as_wanting_more()
    {
        await using var budget = new EndpointRateBudget(600_000, null, 16_384, _time, share: 0.5);
        budget.TakeDemand();
        await budget.AcquireAsync(5_000, Cancel, backfill: true);
        budget.Finished(backfill: true);
        _time.Advance(TimeSpan.FromSeconds(6));
        // 5,000 tokens in 6 s are 50,000 a minute: 1/12 of the budget, reported with a quarter on top.
        Assert.Equal(50_000.0 / 600_000 * EndpointRateBudget.Headroom, budget.TakeDemand().Backfill, 1e-9);

        budget.SetShare(0);
        var waiting = budget.AcquireAsync(5_000, Cancel).AsTask();
        Assert.Equal(double.PositiveInfinity, budget.TakeDemand().Live);
        budget.SetShare(1);
        _time.Advance(TimeSpan.FromSeconds(1));
        await waiting;
    }
}
