using Polly;
using Polly.Retry;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Runs a Qdrant call with the transient-failure retries and turns what Qdrant rejects outright into
/// <see cref="VectorStoreRejectedException"/>. Shared by the reader and the writer, so both fail the same way.
/// </summary>
internal sealed class QdrantCalls(ResiliencePipeline retry)
{
    /// <summary>
    /// The worker's calls: transient failures retried <c>Qdrant:MaxRetries</c> times, exponentially with jitter from
    /// <c>Qdrant:RetryBaseDelay</c>. One call is retried at one level only: a retried operation never runs another.
    /// </summary>
    public static QdrantCalls Create(QdrantOptions options, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(QdrantErrors.IsTransient),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
            });
        }
        return new QdrantCalls(builder.Build());
    }

    public async Task RunAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken) =>
        await RunAsync<bool>(async token =>
        {
            await operation(token).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        try
        {
            return await retry.ExecuteAsync(async token => await operation(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (QdrantErrors.IsRejection(ex))
        {
            throw new VectorStoreRejectedException($"Qdrant rejected the request: {((Grpc.Core.RpcException)ex).Status.Detail}", ex);
        }
    }
}
