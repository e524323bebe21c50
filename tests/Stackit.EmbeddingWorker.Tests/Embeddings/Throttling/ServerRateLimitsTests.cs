using System.Net;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

/// <summary>OpenAI's <c>x-ratelimit-*</c> headers, and the budget following them.</summary>
public sealed class ServerRateLimitsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void The_declared_limits_are_read_when_present_and_absent_headers_are_no_signal()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        Assert.True(ServerRateLimits.From(response.Headers).IsEmpty);

        response.Headers.Add("x-ratelimit-remaining-requests", "59");
        response.Headers.Add("x-ratelimit-remaining-tokens", "149984");
        response.Headers.Add("x-ratelimit-reset-requests", "1s");
        response.Headers.Add("x-ratelimit-reset-tokens", "6m0s");
        response.Headers.Add("x-ratelimit-limit-requests", "60");
        response.Headers.Add("x-ratelimit-limit-tokens", "150000");

        Assert.Equal(new ServerRateLimits(60, 150_000), ServerRateLimits.From(response.Headers));
    }

    [Fact]
    public async Task A_declared_limit_below_the_budget_shrinks_it_and_a_higher_one_restores_at_most_the_configured()
    {
        var time = new FakeTimeProvider();
        await using var budget = new EndpointRateBudget(600_000, 600, 16_384, time, share: 0.5);

        budget.Observe(new ServerRateLimits(LimitRequests: 300, LimitTokens: 240_000));
        Assert.Equal(240_000, budget.TokensPerMinute);
        Assert.Equal(300, budget.RequestsPerMinute);
        // Half of 240,000 a minute is 2,000 tokens a second for this replica.
        Assert.Equal(2_000, budget.MaxRequestTokens);

        budget.Observe(new ServerRateLimits(LimitRequests: null, LimitTokens: 1_000_000));
        Assert.Equal(600_000, budget.TokensPerMinute);
    }

    [Fact]
    public async Task What_remains_of_the_server_s_window_does_not_change_the_pacing()
    {
        var time = new FakeTimeProvider();
        await using var budget = new EndpointRateBudget(600_000, null, 16_384, time);
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        response.Headers.Add("x-ratelimit-remaining-tokens", "0");
        response.Headers.Add("x-ratelimit-reset-tokens", "30s");
        var limits = ServerRateLimits.From(response.Headers);
        Assert.True(limits.IsEmpty);
        budget.Observe(limits);

        Assert.True(budget.AcquireAsync(5_000, Cancel).IsCompleted);
        Assert.Equal(600_000, budget.TokensPerMinute);
    }
}
