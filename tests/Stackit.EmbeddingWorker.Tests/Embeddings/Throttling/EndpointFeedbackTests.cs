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

    [Fact]
    public async Task An_answer_that_declares_a_lower_limit_than_the_configured_budget_shrinks_the_budget_to_it()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, configure: s =>
        {
            s["Embeddings:TokensPerMinute"] = "600000";
            s["Fleet:Coordination"] = "Off";
        });
        var budget = services.GetRequiredService<EndpointRateBudget>();
        await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);
        Assert.Equal(600_000, budget.TokensPerMinute);

        server.ResponseHeaders = new Dictionary<string, string> { ["x-ratelimit-limit-tokens"] = "200000", ["x-ratelimit-remaining-tokens"] = "199990" };
        await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);

        Assert.Equal(200_000, budget.TokensPerMinute);
    }

    [Fact]
    public async Task A_declared_limit_shrinks_the_budget_of_the_model_the_request_asked_for_and_no_other()
    {
        // STACKIT limits each model apart: a migration target's answers say nothing about the served model's budget.
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, configure: s =>
        {
            s["Embeddings:TokensPerMinute"] = "600000";
            s["Embeddings:ModelBudgets:0:Model"] = "next/model";
            s["Embeddings:ModelBudgets:0:TokensPerMinute"] = "900000";
            s["Fleet:Coordination"] = "Off";
        });
        var budgets = services.GetRequiredService<RateBudgets>();
        server.ResponseHeaders = new Dictionary<string, string> { ["x-ratelimit-limit-tokens"] = "300000" };

        await services.Client().EmbedAsync("next/model", null, ["x"], TestContext.Current.CancellationToken);

        Assert.Equal(300_000, budgets.For("next/model").TokensPerMinute);
        Assert.Equal(600_000, services.GetRequiredService<EndpointRateBudget>().TokensPerMinute);
    }
}
