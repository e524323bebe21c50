using System.Net;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

/// <summary>OpenAI's <c>x-ratelimit-*</c> headers, and the budget following them.</summary>
public sealed class ServerRateLimitsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("1s", 1_000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("20ms", 20)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("0.5", 500)]
    [InlineData("12", 12_000)]
    public void Durations_are_read_in_go_and_plain_seconds_form(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), ServerRateLimits.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5x")]
    [InlineData("-3")]
    [InlineData("s")]
    public void Anything_else_is_no_duration(string text) => Assert.Null(ServerRateLimits.ParseDuration(text));

    [Fact]
    public void The_headers_are_read_when_present_and_absent_headers_are_no_signal()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        Assert.True(ServerRateLimits.From(response.Headers).IsEmpty);

        response.Headers.Add("x-ratelimit-remaining-requests", "59");
        response.Headers.Add("x-ratelimit-remaining-tokens", "149984");
        response.Headers.Add("x-ratelimit-reset-requests", "1s");
        response.Headers.Add("x-ratelimit-reset-tokens", "6m0s");
        response.Headers.Add("x-ratelimit-limit-requests", "60");
        response.Headers.Add("x-ratelimit-limit-tokens", "150000");

        Assert.Equal(new ServerRateLimits(59, 149_984, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(6), 60, 150_000), ServerRateLimits.From(response.Headers));
    }

    [Fact]
    public async Task A_declared_limit_below_the_budget_shrinks_it_and_a_higher_one_restores_at_most_the_configured()
    {
        var time = new FakeTimeProvider();
        await using var budget = new EndpointRateBudget(600_000, 600, 16_384, time, share: 0.5);

        budget.Observe(new ServerRateLimits(null, null, null, null, LimitRequests: 300, LimitTokens: 240_000));
        Assert.Equal(240_000, budget.TokensPerMinute);
        Assert.Equal(300, budget.RequestsPerMinute);
        // Half of 240,000 a minute is 2,000 tokens a second for this replica.
        Assert.Equal(2_000, budget.MaxRequestTokens);

        budget.Observe(new ServerRateLimits(null, null, null, null, LimitTokens: 1_000_000));
        Assert.Equal(600_000, budget.TokensPerMinute);
    }

    [Fact]
    public async Task What_remains_of_the_server_s_window_does_not_change_the_pacing()
    {
        var time = new FakeTimeProvider();
        await using var budget = new EndpointRateBudget(600_000, null, 16_384, time);
        budget.Observe(new ServerRateLimits(null, 0, null, TimeSpan.FromSeconds(30)));

        Assert.True(budget.AcquireAsync(5_000, Cancel).IsCompleted);
        Assert.Equal(600_000, budget.TokensPerMinute);
    }
}
