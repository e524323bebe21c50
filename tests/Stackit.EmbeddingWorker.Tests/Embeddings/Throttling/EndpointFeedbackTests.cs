using System.Net;
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
}
