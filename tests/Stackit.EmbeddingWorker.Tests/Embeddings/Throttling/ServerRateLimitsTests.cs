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

        Assert.Equal(new ServerRateLimits(59, 149_984, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(6)), ServerRateLimits.From(response.Headers));
    }

    [Fact]
    public async Task When_the_server_says_nothing_is_left_the_next_request_waits_for_the_bucket_to_refill()
    {
        var time = new FakeTimeProvider();
        await using var budget = new EndpointRateBudget(600_000, null, 16_384, time);
        // A full bucket (a second's worth, 10,000 tokens) would let this request through at once.
        budget.Observe(new ServerRateLimits(null, 0, null, TimeSpan.FromSeconds(30)));

        var waiting = budget.AcquireAsync(5_000, Cancel).AsTask();
        time.Advance(TimeSpan.FromSeconds(0.4));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.2));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task Tokens_still_left_on_the_server_are_no_signal()
    {
        var time = new FakeTimeProvider();
        await using var budget = new EndpointRateBudget(600_000, null, 16_384, time);
        budget.Observe(new ServerRateLimits(null, 100, null, TimeSpan.FromSeconds(30)));

        Assert.True(budget.AcquireAsync(5_000, Cancel).IsCompleted);
    }
}
