using Stackit.EmbeddingWorker.Messaging;

namespace Stackit.EmbeddingWorker.Tests.Messaging;

public sealed class PollingBackoffTests
{
    [Fact]
    public void Idle_polling_grows_from_about_100_ms_to_the_maximum_and_resets()
    {
        var backoff = new PollingBackoff(TimeSpan.FromSeconds(60), new Random(7));

        var delays = Enumerable.Range(0, 20).Select(_ => backoff.Next()).ToList();

        Assert.InRange(delays[0], TimeSpan.FromMilliseconds(80), TimeSpan.FromMilliseconds(120));
        Assert.True(delays[5] > delays[0] * 10);
        Assert.All(delays, d => Assert.True(d <= TimeSpan.FromSeconds(60)));
        Assert.True(delays[^1] >= TimeSpan.FromSeconds(48));
        backoff.Reset();
        Assert.InRange(backoff.Next(), TimeSpan.FromMilliseconds(80), TimeSpan.FromMilliseconds(120));
    }
}
