using System.Net;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.DependencyInjection;
using Stackit.EmbeddingWorker.Embeddings.Throttling;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

public sealed class EndpointFeedbackTests
{
    [Fact]
    public async Task A_429_that_a_retry_overcame_still_lowers_the_concurrency_limit()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:MaxConcurrency"] = "16");
        var limit = services.GetRequiredService<AdaptiveConcurrencyLimit>();
        for (var i = 0; i < 7; i++)
        {
            await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);
        }
        Assert.Equal(8, limit.Limit);

        server.EnqueueFault(HttpStatusCode.TooManyRequests, retryAfter: "0");
        await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);

        // Halved by the 429, then one more success on the retry (additive now, so still 4).
        Assert.Equal(4, limit.Limit);
    }

    [Fact]
    public async Task An_answer_that_says_the_server_s_window_is_spent_empties_the_budget_s_bucket()
    {
        var time = new FakeTimeProvider();
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, time, s =>
        {
            s["Embeddings:TokensPerMinute"] = "600000";
            s["Fleet:Coordination"] = "Off";
        });
        var budget = services.GetRequiredService<EndpointRateBudget>();
        await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);
        Assert.True(budget.AcquireAsync(1_000, TestContext.Current.CancellationToken).IsCompleted);

        server.ResponseHeaders = new Dictionary<string, string> { ["x-ratelimit-remaining-tokens"] = "0", ["x-ratelimit-reset-tokens"] = "30s" };
        await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);

        // A second's worth (10,000 tokens) was in the bucket; now the request waits for 1,000 to refill (0.1 s).
        var next = budget.AcquireAsync(1_000, TestContext.Current.CancellationToken).AsTask();
        time.Advance(TimeSpan.FromSeconds(0.05));
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));
        await next.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
}
