using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Pipeline;

public sealed class PipelineShutdownTests
{
    [Theory]
    [InlineData(30, 24)]
    [InlineData(120, 110)]
    [InlineData(3, 2)]
    [InlineData(1, 0)]
    public void Draining_leaves_a_reserve_of_the_shutdown_timeout_for_handing_messages_back(int shutdownSeconds, int drainSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(drainSeconds), PipelineShutdown.DrainBudget(TimeSpan.FromSeconds(shutdownSeconds)));
    }

    [Fact]
    public void Abort_fires_when_draining_has_run_out_of_time_not_before()
    {
        var time = new FakeTimeProvider();
        using var shutdown = TestShutdown.Create(out var lifetime, TimeSpan.FromSeconds(30), time);

        time.Advance(TimeSpan.FromHours(1));
        Assert.False(shutdown.Abort.IsCancellationRequested);

        lifetime.StopApplication();
        time.Advance(TimeSpan.FromSeconds(23));
        Assert.False(shutdown.Abort.IsCancellationRequested);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(shutdown.Abort.IsCancellationRequested);
    }
}
