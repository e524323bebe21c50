using System.Net;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings;

public sealed class OpenAiEmbeddingClientTests
{
    [Fact]
    public async Task Vectors_are_mapped_to_inputs_by_index_not_by_position()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.ReverseOrder = true;
        using var services = EmbeddingClientFactory.Services(server);
        string[] inputs = ["alpha", "beta", "gamma"];

        var result = await services.Client().EmbedAsync(inputs, TestContext.Current.CancellationToken);

        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(FakeEmbeddingServer.VectorFor(inputs[i], server.Dimensions), result.Vectors[i]);
        }
        Assert.Equal(inputs.Sum(FakeEmbeddingServer.CountTokens), result.PromptTokens);
    }

    [Fact]
    public async Task Embeddings_Dimensions_is_sent_and_an_answer_of_another_size_is_refused()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:Dimensions"] = "4");

        var result = await services.Client().EmbedAsync(["alpha"], TestContext.Current.CancellationToken);
        Assert.Equal(4, result.Vectors[0].Length);
        Assert.Contains("\"dimensions\":4", Assert.Single(server.Requests).Body, StringComparison.Ordinal);

        // A model without shorter vectors ignores the parameter: its full-size answer must not reach the collection.
        server.IgnoreDimensionsParameter = true;
        var error = await Assert.ThrowsAsync<EmbeddingResponseException>(() => services.Client().EmbedAsync(["alpha"], TestContext.Current.CancellationToken));
        Assert.Contains("8 dimensions; 4 were asked for", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_Embeddings_Dimensions_no_dimensions_are_sent()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server);

        await services.Client().EmbedAsync(["alpha"], TestContext.Current.CancellationToken);

        Assert.DoesNotContain("dimensions", Assert.Single(server.Requests).Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    public async Task Transient_status_is_retried_until_it_succeeds(HttpStatusCode status)
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.EnqueueFault(status);
        server.EnqueueFault(status);
        using var services = EmbeddingClientFactory.Services(server);

        var result = await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);

        Assert.Single(result.Vectors);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task A_body_that_breaks_off_after_the_status_is_retried()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.EnqueueFault(EndpointFault.BodyBreaksOff);
        using var services = EmbeddingClientFactory.Services(server);
        string[] inputs = ["alpha", "beta", "gamma"];

        var result = await services.Client().EmbedAsync(inputs, TestContext.Current.CancellationToken);

        Assert.Equal(inputs.Select(i => FakeEmbeddingServer.VectorFor(i, server.Dimensions)), result.Vectors);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_body_that_stalls_after_the_status_counts_against_the_attempt_timeout()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.StallFor = TimeSpan.FromMinutes(5);
        server.EnqueueFault(EndpointFault.BodyStalls);
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:Timeout"] = "00:00:01");
        string[] inputs = ["alpha", "beta"];

        // Without the attempt's timeout over the body, this waits for the stall (and the test's own timeout).
        var result = await services.Client().EmbedAsync(inputs, TestContext.Current.CancellationToken);

        Assert.Equal(inputs.Select(i => FakeEmbeddingServer.VectorFor(i, server.Dimensions)), result.Vectors);
        Assert.Equal(2, server.Requests.Count);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.UnprocessableContent)]
    public async Task Other_client_errors_are_not_retried_and_carry_the_server_message(HttpStatusCode status)
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.EnqueueFault(status, message: "the server says no");
        using var services = EmbeddingClientFactory.Services(server);

        var error = await Assert.ThrowsAsync<EmbeddingRequestException>(() => services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken));

        Assert.Equal(status, error.Status);
        Assert.Equal("the server says no", error.ServerMessage);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Retries_give_up_after_MaxRetries_with_the_last_status()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            server.EnqueueFault(HttpStatusCode.ServiceUnavailable);
        }
        using var services = EmbeddingClientFactory.Services(server);

        var error = await Assert.ThrowsAsync<EmbeddingRequestException>(() => services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken));

        Assert.True(error.IsTransient);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task Retry_After_from_a_429_is_honoured_before_the_next_attempt()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.EnqueueFault(HttpStatusCode.TooManyRequests, retryAfter: "30");
        var time = new FakeTimeProvider();
        using var services = EmbeddingClientFactory.Services(server, time);
        var ct = TestContext.Current.CancellationToken;

        var call = services.Client().EmbedAsync(["x"], ct);
        while (server.Requests.IsEmpty)
        {
            await Task.Delay(5, ct);
        }
        var started = time.GetUtcNow();
        while (server.Requests.Count < 2)
        {
            // With a base delay of 10 ms, only Retry-After can hold the second attempt back this long.
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5, ct);
        }

        await call;
        Assert.True(time.GetUtcNow() - started >= TimeSpan.FromSeconds(30), $"retried after {time.GetUtcNow() - started} of fake time");
    }

    [Theory]
    [InlineData("Base64")]
    [InlineData("Float")]
    public async Task A_vector_with_NaN_or_infinite_values_is_a_fault_of_the_endpoint_and_never_returned(string encoding)
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        server.EnqueueFault(EndpointFault.NonFiniteVector);
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:Encoding"] = encoding);

        var fault = await Assert.ThrowsAsync<EmbeddingResponseException>(() => services.Client().EmbedAsync(["alpha", "beta"], TestContext.Current.CancellationToken));

        Assert.Contains("NaN or infinite", fault.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorization_header_carries_the_bearer_token()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server);

        await services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken);

        Assert.Equal($"Bearer {FakeEmbeddingServer.ApiKey}", Assert.Single(server.Requests).Authorization);
    }

    [Fact]
    public async Task Texts_go_out_as_UTF_8_with_only_the_escapes_JSON_needs()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server);
        const string text = "Prüfung gemäß Norm: \"Durchfluß\" <ok> & 5 €\n";

        await services.Client().EmbedAsync([text], TestContext.Current.CancellationToken);

        var request = Assert.Single(server.Requests);
        Assert.Equal(text, Assert.Single(request.Inputs));
        Assert.Contains("Prüfung gemäß Norm: \\\"Durchfluß\\\" <ok> & 5 €\\n", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_key_is_not_in_the_exception_of_a_refused_request()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:ApiKey"] = "wrong-key-do-not-log-me");

        var error = await Assert.ThrowsAsync<EmbeddingRequestException>(() => services.Client().EmbedAsync(["x"], TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.DoesNotContain("wrong-key-do-not-log-me", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 0 }, 2, "holds 1 vectors for 2 inputs")]
    [InlineData(new[] { 0, 0 }, 2, "has index 0 twice")]
    [InlineData(new[] { 0, 2 }, 2, "has index 2, outside 0..1")]
    [InlineData(new[] { 0, -1 }, 2, "has index -1")]
    public void Response_that_does_not_fit_the_request_is_refused(int[] indexes, int inputs, string expected)
    {
        var data = indexes.Select(i => new EmbeddingData { Index = i, Embedding = [1f, 2f] }).ToList();

        var error = Assert.Throws<EmbeddingResponseException>(() => OpenAiEmbeddingClient.MapByIndex(data, inputs));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Response_with_mixed_dimensions_is_refused()
    {
        List<EmbeddingData> data = [new() { Index = 0, Embedding = [1f, 2f] }, new() { Index = 1, Embedding = [1f] }];

        Assert.Throws<EmbeddingResponseException>(() => OpenAiEmbeddingClient.MapByIndex(data, 2));
    }
}
