using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Tests.Pipeline;

public sealed class InFlightLimiterTests
{
    [Fact]
    public async Task A_new_batch_is_taken_only_when_a_whole_receive_batch_of_slots_is_free()
    {
        using var limiter = new InFlightLimiter(40);
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal(32, await limiter.AcquireBatchAsync(ct));
        var second = limiter.AcquireBatchAsync(ct);
        Assert.False(second.IsCompleted);

        limiter.Release(23);
        Assert.False(second.IsCompleted);
        limiter.Release(1);

        Assert.Equal(32, await second);
        Assert.Equal(40, limiter.InFlight);
    }
}
