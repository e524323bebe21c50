using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// How every call to the endpoint is retried and timed, in the worker and in the helper commands alike: 408, 429,
/// 5xx, connection failures and attempt timeouts are tried again with exponential, jittered backoff (or after the
/// server's Retry-After), up to <c>Embeddings:MaxRetries</c> times; each attempt is bounded by <c>Embeddings:Timeout</c>.
/// </summary>
internal static class EmbeddingsResilience
{
    public static ResiliencePipelineBuilder<HttpResponseMessage> AddAttempts(this ResiliencePipelineBuilder<HttpResponseMessage> pipeline, EmbeddingsOptions options) =>
        pipeline
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromMinutes(2),
                ShouldRetryAfterHeader = true,
            })
            .AddTimeout(options.Timeout);

    /// <summary>
    /// A client for one-off calls outside the pipeline (a search query, a recall sample): the same wire format, checks
    /// and retries as the worker's, without its concurrency limit or rate budget.
    /// </summary>
    public static OneOffEmbeddings CreateOneOff(EmbeddingsOptions options)
    {
        var handler = new ResilienceHandler(new ResiliencePipelineBuilder<HttpResponseMessage>().AddAttempts(options).Build())
        {
            InnerHandler = new SocketsHttpHandler(),
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new("Bearer", options.ApiKey);
        var client = new OpenAiEmbeddingClient(http, options, new EncodingNegotiation(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<OpenAiEmbeddingClient>.Instance);
        return new OneOffEmbeddings(client, http);
    }
}

/// <summary>An embeddings client that owns its HttpClient.</summary>
internal sealed class OneOffEmbeddings(IEmbeddingClient client, HttpClient http) : IDisposable
{
    public IEmbeddingClient Client { get; } = client;

    public void Dispose() => http.Dispose();
}
