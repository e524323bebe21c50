using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Pipeline;

/// <summary>The in-flight byte budget of claimed job bodies: who waits, who goes, and that nothing is lost.</summary>
public sealed class ByteBudgetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_body_waits_until_its_bytes_fit_and_goes_when_they_are_given_back()
    {
        var budget = new ByteBudget(100);
        var first = await budget.AcquireAsync(70, Ct);

        var second = budget.AcquireAsync(50, Ct);
        Assert.False(second.IsCompleted);

        budget.Release(first);
        Assert.Equal(50, await second);
        Assert.Equal(50, budget.Held);
    }

    [Fact]
    public async Task Waiters_are_served_in_arrival_order_so_a_large_body_is_not_starved()
    {
        var budget = new ByteBudget(100);
        var held = await budget.AcquireAsync(60, Ct);
        var large = budget.AcquireAsync(90, Ct);
        var small = budget.AcquireAsync(10, Ct);

        // 40 bytes are free: enough for the small one, but the large one came first.
        Assert.False(small.IsCompleted);
        budget.Release(held);
        Assert.Equal(90, await large);
        Assert.Equal(10, await small);
    }

    [Fact]
    public async Task A_body_larger_than_the_budget_takes_all_of_it_once_free_and_runs_alone()
    {
        var budget = new ByteBudget(100);
        var other = await budget.AcquireAsync(1, Ct);
        var huge = budget.AcquireAsync(1_000, Ct);
        Assert.False(huge.IsCompleted);

        budget.Release(other);

        Assert.Equal(100, await huge);
        Assert.Equal(100, budget.Held);
    }

    [Fact]
    public async Task A_cancelled_wait_takes_nothing_and_lets_the_next_waiter_through()
    {
        var budget = new ByteBudget(100);
        var held = await budget.AcquireAsync(80, Ct);
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.AcquireAsync(50, cancel.Token);
        var next = budget.AcquireAsync(20, Ct);
        Assert.False(next.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        Assert.Equal(20, await next);
        budget.Release(held);
        budget.Release(20);
        Assert.Equal(0, budget.Held);
    }
}
