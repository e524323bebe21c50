using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

public sealed class AdaptiveConcurrencyLimitTests
{
    private static readonly TimeSpan RoundTrip = TimeSpan.FromMilliseconds(200);

    private readonly FakeTimeProvider _time = new();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void It_starts_at_one_and_grows_by_one_per_success_until_the_endpoint_first_pushes_back()
    {
        var limit = new AdaptiveConcurrencyLimit(16, _time);
        Assert.Equal(1, limit.Limit);

        Succeed(limit, 5);

        Assert.Equal(6, limit.Limit);
    }

    [Fact]
    public void It_never_grows_past_the_configured_maximum()
    {
        var limit = new AdaptiveConcurrencyLimit(4, _time);

        Succeed(limit, 100);

        Assert.Equal(4, limit.Limit);
    }

    [Fact]
    public void A_throttle_halves_the_limit_and_a_burst_of_them_within_one_round_trip_halves_it_once()
    {
        var limit = new AdaptiveConcurrencyLimit(32, _time);
        Succeed(limit, 15);
        _time.Advance(TimeSpan.FromSeconds(2));

        limit.OnThrottled();
        limit.OnThrottled();
        limit.OnThrottled();
        Assert.Equal(8, limit.Limit);

        _time.Advance(RoundTrip * 2);
        limit.OnThrottled();
        Assert.Equal(4, limit.Limit);
    }

    [Fact]
    public void After_a_throttle_it_grows_by_about_one_per_round_of_limit_successes()
    {
        var limit = new AdaptiveConcurrencyLimit(32, _time);
        Succeed(limit, 15);
        _time.Advance(TimeSpan.FromSeconds(2));
        limit.OnThrottled();
        Assert.Equal(8, limit.Limit);

        Succeed(limit, 9);
        Assert.Equal(9, limit.Limit);
        Succeed(limit, 4);
        Assert.Equal(9, limit.Limit);
    }

    [Fact]
    public void It_never_falls_below_one()
    {
        var limit = new AdaptiveConcurrencyLimit(8, _time);

        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            limit.OnThrottled();
        }

        Assert.Equal(1, limit.Limit);
    }

    [Fact]
    public async Task No_more_permits_are_out_than_the_limit_and_a_waiter_gets_the_freed_slot()
    {
        var limit = new AdaptiveConcurrencyLimit(8, _time);
        Succeed(limit, 1);
        var first = await limit.AcquireAsync(Cancel);
        var second = await limit.AcquireAsync(Cancel);

        var third = limit.AcquireAsync(Cancel).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal(2, limit.InFlight);

        first.Dispose();
        using var granted = await third.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.Equal(2, limit.InFlight);
        second.Dispose();
    }

    [Fact]
    public async Task A_waiter_is_let_in_as_soon_as_the_limit_grows()
    {
        var limit = new AdaptiveConcurrencyLimit(8, _time);
        using var first = await limit.AcquireAsync(Cancel);
        var waiting = limit.AcquireAsync(Cancel).AsTask();
        Assert.False(waiting.IsCompleted);

        limit.OnSuccess(RoundTrip);

        using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.Equal(2, limit.InFlight);
    }

    [Fact]
    public async Task A_cancelled_waiter_does_not_take_a_slot()
    {
        var limit = new AdaptiveConcurrencyLimit(8, _time);
        var first = await limit.AcquireAsync(Cancel);
        using var cancel = new CancellationTokenSource();
        var waiting = limit.AcquireAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
        first.Dispose();

        Assert.Equal(0, limit.InFlight);
        using var next = await limit.AcquireAsync(Cancel);
        Assert.Equal(1, limit.InFlight);
    }

    [Fact]
    public async Task Backfill_copies_never_hold_the_last_slot_so_a_live_request_is_let_in_at_once()
    {
        // Copies wait for the rate budget while they hold their slots: were every slot theirs, a live request would
        // queue behind all of them, however the budget puts live work first.
        var limit = new AdaptiveConcurrencyLimit(8, _time);
        Succeed(limit, 2);
        Assert.Equal(3, limit.Limit);
        var copies = new List<AdaptiveConcurrencyLimit.Permit> { await limit.AcquireAsync(Cancel, backfill: true), await limit.AcquireAsync(Cancel, backfill: true) };
        var third = limit.AcquireAsync(Cancel, backfill: true).AsTask();
        Assert.False(third.IsCompleted);

        using var live = await limit.AcquireAsync(Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        Assert.Equal(3, limit.InFlight);
        copies.ForEach(c => c.Dispose());
        using var copy = await third.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task A_live_request_waiting_for_a_slot_goes_before_copies_that_waited_longer()
    {
        var limit = new AdaptiveConcurrencyLimit(8, _time);
        Succeed(limit, 1);
        var live = await limit.AcquireAsync(Cancel);
        var copy = await limit.AcquireAsync(Cancel, backfill: true);
        var waitingCopy = limit.AcquireAsync(Cancel, backfill: true).AsTask();
        var waitingLive = limit.AcquireAsync(Cancel).AsTask();

        copy.Dispose();

        using var next = await waitingLive.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.False(waitingCopy.IsCompleted);
        live.Dispose();
        using var after = await waitingCopy.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task At_a_limit_of_one_a_copy_may_take_the_only_slot()
    {
        var limit = new AdaptiveConcurrencyLimit(8, _time);

        using var copy = await limit.AcquireAsync(Cancel, backfill: true).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        Assert.Equal(1, limit.InFlight);
    }

    private static void Succeed(AdaptiveConcurrencyLimit limit, int times)
    {
        for (var i = 0; i < times; i++)
        {
            limit.OnSuccess(RoundTrip);
        }
    }
}
